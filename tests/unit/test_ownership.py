"""Who owns a container, told from its labels (pure): the base of every refusal across modules."""

from __future__ import annotations

import signal

import pytest

from tedge_container import interrupts
from tedge_container.labels import COMPOSE_PROJECT_LABEL, COMPOSE_WORKING_DIR_LABEL, MANAGED_BY, MANAGED_LABEL
from tedge_container.ownership import OwnedElsewhere, group_of, owner_of, refuse_group_container
from tedge_container.software.group.archive.layout import Layout
from tedge_container.software.group.ownership import Owner

ROOT = "/data/tedge-container-plugin/compose"


def compose_labels(project: str, working: str) -> dict[str, str]:
    return {COMPOSE_PROJECT_LABEL: project, COMPOSE_WORKING_DIR_LABEL: working}


@pytest.mark.parametrize(
    "name, labels, owner",
    [
        ("shop_web_1", compose_labels("shop", f"{ROOT}/Shop"), "group Shop"),
        ("x", compose_labels("shop", f"{ROOT}/.shop.tedge-previous"), "group shop"),
        ("x", compose_labels("shop", f"{ROOT}/.shop.tedge-staging/"), "group shop"),
        ("x", compose_labels("shop", "/home/me/shop"), "compose project shop started from /home/me/shop"),
        ("cam", {MANAGED_LABEL: MANAGED_BY}, "container module cam"),
        ("cam", {}, "container cam (not made by this plugin)"),
    ],
)
def test_owner_of(name: str, labels: dict[str, str], owner: str) -> None:
    assert owner_of(name, labels) == owner


def test_group_of_strips_the_install_directories() -> None:
    assert group_of(f"{ROOT}/.my.app.tedge-previous") == "my.app"
    assert group_of(f"{ROOT}/my.app") == "my.app"


def test_a_group_owns_only_containers_of_its_project_and_directories() -> None:
    owner = Owner(Layout(ROOT, "shop"))
    assert owner.owns(compose_labels("shop", f"{ROOT}/shop"), "shop")
    assert owner.owns(compose_labels("shop", f"{ROOT}/.shop.tedge-previous"), "shop")
    assert owner.owns(compose_labels("renamed", f"{ROOT}/shop"))  # any project of its own
    assert not owner.owns(compose_labels("shop", f"{ROOT}/Shop"), "shop")  # another group, same project
    assert not owner.owns(compose_labels("shop", "/home/me/shop"), "shop")
    assert not owner.owns(compose_labels("other", f"{ROOT}/shop"), "shop")
    assert not owner.owns({MANAGED_LABEL: MANAGED_BY}, "shop")  # a container module's
    assert not owner.owns({MANAGED_LABEL: MANAGED_BY})


def test_a_container_module_refuses_a_groups_container() -> None:
    refuse_group_container("cam", {MANAGED_LABEL: MANAGED_BY}, "install")  # its own: fine
    with pytest.raises(OwnedElsewhere, match="belongs to group shop") as raised:
        refuse_group_container("cam", compose_labels("shop", f"{ROOT}/shop"), "remove")
    assert raised.value.exit_code == 2


def test_sigterm_raises_inside_a_swap_and_is_held_off_while_it_is_undone() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(interrupts.Interrupted, match="SIGTERM"), interrupts.raising():
        signal.raise_signal(signal.SIGTERM)
    with interrupts.shielded():
        signal.raise_signal(signal.SIGTERM)  # ignored
    assert signal.getsignal(signal.SIGTERM) == before
