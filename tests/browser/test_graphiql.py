"""GraphiQL in headless Chromium against the real server, with requests to other hosts blocked.

Uses Debian's Chromium (`apt-get install chromium`) through Playwright, never a browser that
Playwright downloads. Without Chromium the test is skipped, unless TOURDESK_TEST_REQUIRE_BROWSER=1
(as in CI) makes that a failure. The last step's screenshot goes to artifacts/graphiql.png.
"""

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, async_playwright, expect

from api.seeding.layout import DEMO_PASSWORD
from models.enums import Role
from models.passwords import hash_password
from models.users import User
from tests.api.server import running_server
from tests.factories import World, add_booking

CHROMIUM = Path(os.environ.get("TOURDESK_TEST_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = os.environ.get("TOURDESK_TEST_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "graphiql.png"
# Generous, so that a slow machine does not fail the test: GraphiQL's bundle is 3.5 MB.
STEP_TIMEOUT_MS = 30_000
LOOPBACK = "127.0.0.1"

RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = (
            f"Chromium is not installed at {CHROMIUM}; install it with apt-get install chromium"
        )
        if REQUIRE_BROWSER:
            pytest.fail(f"{reason}. TOURDESK_TEST_REQUIRE_BROWSER=1 requires the browser test.")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def test_graphiql_signs_in_and_runs_bookings_example(
    world: World, db: str, tmp_path: Path, browser: Browser
):
    admin = world.user("alpine", Role.ADMIN)
    # The page's sign-in form starts filled in with the demo admin and the demo password.
    await User.filter(id=admin.id).update(password_hash=hash_password(DEMO_PASSWORD))
    booking = await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)
    loopback_paths: list[str] = []
    offsite_requests: list[str] = []
    page_errors: list[str] = []

    async def keep_on_loopback(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.hostname == LOOPBACK:
            loopback_paths.append(url.path)
            await route.continue_()
        else:
            offsite_requests.append(route.request.url)
            await route.abort()

    with running_server(db, tmp_path) as server:
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        await page.add_init_script(RECORD_CSP_VIOLATIONS)
        await page.route("**/*", keep_on_loopback)

        await page.goto(f"{server.base_url}/graphql")
        await page.get_by_role("button", name="Sign in", exact=True).click(timeout=STEP_TIMEOUT_MS)
        status = page.get_by_role("status")
        await expect(status).to_have_text(re.compile("^Signed in as"), timeout=STEP_TIMEOUT_MS)
        # The first tab contains the bookings page example.
        await page.get_by_role("button", name="Execute query").click()
        result = page.get_by_role("region", name="Result Window")
        await expect(result).to_contain_text(booking.reference, timeout=STEP_TIMEOUT_MS)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await page.screenshot(path=SCREENSHOT)

        result_text = await result.inner_text()
        csp_violations = await page.evaluate("window.cspViolations")

    assert await status.inner_text() == "Signed in as admin@alpine.example (Alpine)."
    assert '"email": "buyer@example.com"' in result_text
    assert '"name": "Tandem paragliding flight"' in result_text
    assert "/static/graphiql/graphiql.min.js" in loopback_paths
    assert offsite_requests == []
    assert page_errors == []
    assert csp_violations == []
