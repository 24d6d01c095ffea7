"""A failed first install names the named volumes it leaves (issue 26). Real podman, real podman-compose."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.group import Group, app, compose, file_of, last_line
from tests.support.images import TestImages

pytestmark = pytest.mark.integration


def test_a_failed_first_install_names_the_volumes_it_leaves(
    group: Group, test_images: TestImages, tmp_path: Path
):
    web = app(test_images.exits, volumes=["data:/data"])  # exits 1 at once: the install fails
    text = compose({"web": web}, volumes={"data": {}})
    try:
        result = group.install("vols", "1.0", file_of(tmp_path, "c.yaml", text))
        assert result.returncode == 2, result.stderr
        assert last_line(result).endswith(
            " Nothing of it was left behind but its named volume vols_data: the next install of the group "
            "uses it again and removing the group then deletes it (`podman volume rm vols_data` deletes it "
            "now)."
        ), result.stderr
        assert group.podman.cli("volume", "exists", "vols_data", check=False).returncode == 0
        assert group.containers("vols") == {}
    finally:
        group.podman.cli("volume", "rm", "-f", "vols_data", check=False)
