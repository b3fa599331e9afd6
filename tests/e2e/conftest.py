from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.async_api import async_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_FLAGS


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


@pytest.fixture
async def page():
    """Return a page of a fresh headless Chromium (Debian's, never a
    downloaded one) with French as its language."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS
        )
        context = await browser.new_context(locale="fr-FR")
        yield await context.new_page()
        await browser.close()
