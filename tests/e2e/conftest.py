from collections.abc import Callable, Iterator

import httpx
import pytest


@pytest.fixture
def new_client(sample_system) -> Iterator[Callable[[], httpx.Client]]:
    """Return a factory of HTTP clients for the identity service, each with its
    own cookies, as separate browsers would have. They are closed afterwards."""
    clients: list[httpx.Client] = []

    def make() -> httpx.Client:
        client = httpx.Client(
            base_url=sample_system.identity_url, follow_redirects=True
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
