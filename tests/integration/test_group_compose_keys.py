"""Unknown compose keys (issue 26): compose ignores them, the plugin names each one with the nearest
known key; `container_group.strict = true` refuses them. Real podman, real podman-compose.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.group import Group, compose, file_of, last_line, states
from tests.support.images import TestImages

pytestmark = pytest.mark.integration


def misspelt(image: str) -> str:
    web = {"image": image, "restrat": "always", "port": ["127.0.0.1::8080"], "x-note": "fine"}
    return compose({"web": web}, **{"x-common": {"a": 1}, "volume": {}})


def test_unknown_keys_get_one_warning_each_naming_the_service_and_the_nearest_key(
    group: Group, test_images: TestImages, tmp_path: Path
):
    result = group.install("keys", "1.0", file_of(tmp_path, "compose.yaml", misspelt(test_images.app1)))
    assert result.returncode == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if "unknown key" in line]
    assert warned == [
        "warning: docker-compose.yaml: top level: unknown key 'volume' (did you mean volumes?); "
        "compose ignores it",
        "warning: docker-compose.yaml: service web: unknown key 'restrat' (did you mean restart?); "
        "compose ignores it",
        "warning: docker-compose.yaml: service web: unknown key 'port' (did you mean ports?); "
        "compose ignores it",
    ]
    assert states(group, "keys") == {"web": "running"}


def test_strict_mode_refuses_unknown_keys_before_anything_runs(
    group: Group, test_images: TestImages, tmp_path: Path
):
    group.plugin.set("container_group", "strict", True)
    result = group.install("strict", "1.0", file_of(tmp_path, "compose.yaml", misspelt(test_images.app1)))
    assert result.returncode == 2, result.stderr
    assert last_line(result) == (
        "Installing group strict 1.0 failed: docker-compose.yaml: top level: unknown key 'volume' (did you "
        "mean volumes?) and 2 more; container_group.strict = true refuses keys compose does not know: "
        "correct them (extensions start with x-), or set it to false to install with a warning."
    )
    assert group.containers("strict") == {}
    assert "strict" not in group.modules()
