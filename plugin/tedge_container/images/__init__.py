"""Getting an image into the engine: references, short names, archives, pulls.

- `references`: image-name parsing and normalisation (distribution/reference);
- `shortnames`: short names resolved as podman resolves them;
- `archive`: image archives given with `--file`, checked and streamed;
- `pulling`: pulls with the credential chain and one refresh retry;
- `obtain`: the one entry point the software types use (`obtain_image`).

Nothing is imported here, so `list` paths that only need `references` stay
light.
"""
