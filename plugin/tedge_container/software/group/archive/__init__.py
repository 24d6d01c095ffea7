"""A group's `--file` on its way in: unpacked safely into staging, within bounds; where it lives.

- staging.py: the archive (tar, tar.gz, zip) or compose file unpacked into the staging directory;
- tree.py: the directory being built, which no entry may leave (links, `..`, devices);
- limits.py: the bounds on what a device is sent (sizes, entries, compose nodes);
- layout.py: where a group's versions live in data_dir, and their version records.

Nothing here imports bundle/ (the images under `images/` are read there, after unpacking).
"""
