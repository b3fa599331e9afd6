"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven
by Playwright, the axe-core accessibility check, and the screenshots kept
under tests/artifacts."""

from pathlib import Path

from playwright.async_api import Page

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "screenshots"
# Installed by services/identity/assets/install.sh with the design system.
AXE_SCRIPT = (
    REPO_ROOT
    / "services"
    / "identity"
    / "assets"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PHONE = {"width": 375, "height": 740}


async def screenshot(page: Page, name: str) -> None:
    """Keep a full-page screenshot of the page under tests/artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


async def serious_accessibility_violations(page: Page) -> list[str]:
    """Run axe-core on the page and return its serious and critical
    violations as 'rule: target' lines (empty when there are none)."""
    assert AXE_SCRIPT.exists(), f"{AXE_SCRIPT} is missing: run assets/install.sh"
    # The pages' CSP rejects the inline script that add_script_tag would
    # insert, so the checker is evaluated through the DevTools protocol.
    await page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;true")
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']}"
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]


async def check_page(page: Page, name: str) -> None:
    """Screenshot the page, then assert that axe-core finds no serious or
    critical violation and that nothing overflows a phone-sized screen."""
    await screenshot(page, name)
    assert await serious_accessibility_violations(page) == [], page.url
    viewport = page.viewport_size
    await page.set_viewport_size(PHONE)
    await screenshot(page, f"{name}-telephone")
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    await page.set_viewport_size(viewport)
    assert overflow <= 0, f"{page.url} is {overflow}px wider than a phone screen"
