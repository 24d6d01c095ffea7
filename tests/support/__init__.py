"""Real services on loopback for the integration tests (and demos).

Importable without pytest::

    from tests.support.services import Stack

    with Stack() as stack:
        print(stack.podman.url, stack.open_registry.host)

Every service lives in a temporary directory, listens on a free loopback port
(or a unix socket there), runs in its own process group and is stopped with
it. Every wait is bounded and fails with the service's log tail.
"""
