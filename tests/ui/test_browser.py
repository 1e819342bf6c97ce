"""End to end in a real headless Chromium (the system package, driven by Playwright) against
uvicorn on 127.0.0.1: load the pages, search, approve a version and see the result.

Without /usr/bin/chromium these tests FAIL saying how to install it, unless
MIMSREG_SKIP_BROWSER=1 asks to skip them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from mimsreg.engine.inventory.local import LocalInventory
from tests.support.browser import CHROMIUM, MISSING_CHROMIUM, launch_chromium, serve
from tests.support.ui_seed import (
    CHURN,
    DRIFT,
    DRIFT_DESCRIPTION,
    FRAUD,
    HOSTILE_OBJECTIVE,
    seed_release_drift,
    seed_ui_inventory,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole session."""
    if os.environ.get("MIMSREG_SKIP_BROWSER") == "1":
        pytest.skip("MIMSREG_SKIP_BROWSER=1: browser tests skipped on request")
    if not CHROMIUM.is_file():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The UI, writes allowed, over a seeded local inventory, for this module's tests."""
    work = tmp_path_factory.mktemp("ui-browser")
    with LocalInventory(work / "inventory.db") as inventory:
        seed_ui_inventory(inventory, work / "models")
        with serve(inventory) as url:
            yield url


@pytest.fixture(scope="module")
def drift_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The UI over an inventory holding one release numbered 1 in us-east-1, 2 in eu-west-1."""
    work = tmp_path_factory.mktemp("ui-drift")
    with LocalInventory(work / "inventory.db") as inventory:
        seed_release_drift(inventory, work / "models")
        with serve(inventory) as url:
            yield url


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser context per test over the seeded UI."""
    yield from _watched_page(browser, base_url)


@pytest.fixture
def drift_page(browser: Browser, drift_url: str) -> Iterator[Page]:
    """A fresh browser context per test over the UI of ``drift_url``."""
    yield from _watched_page(browser, drift_url)


def _watched_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser context; fails the test on a dialog (a script ran) or an error in the
    console (such as a CSP violation)."""
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(5000)
    new_page = context.new_page()
    problems: list[str] = []
    new_page.on(
        "dialog", lambda dialog: (problems.append(f"dialog {dialog.message}"), dialog.dismiss())
    )
    new_page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    new_page.on("pageerror", lambda error: problems.append(str(error)))
    yield new_page
    context.close()
    assert problems == []


def test_groups_page_in_the_browser(page: Page) -> None:
    """The groups page shows both groups, and the hostile objective as plain text."""
    from playwright.sync_api import expect

    page.goto("/")
    expect(page).to_have_title("Model groups · mimsreg")
    rows = page.locator("#groups tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(FRAUD)
    expect(page.locator("td.objective").nth(1)).to_have_text(HOSTILE_OBJECTIVE)
    assert page.locator("script").count() == 0
    expect(page.locator("header")).to_have_css("background-color", "rgb(35, 57, 93)")


def test_search_and_filter(page: Page) -> None:
    """Typing a search and choosing filters narrows the table, with the query in the URL."""
    from playwright.sync_api import expect

    page.goto("/")
    page.fill("#q", "churn")
    page.click("#search")
    expect(page).to_have_url(re.compile(r"/\?q=churn"))
    rows = page.locator("#groups tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(CHURN)

    page.fill("#q", "")
    page.select_option("#status", "PendingManualApproval")
    page.fill("#region", "FE")
    page.click("#search")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(FRAUD)
    expect(page.locator("#status")).to_have_value("PendingManualApproval")

    page.select_option("#owner", "growth-team")
    page.click("#search")
    expect(page.locator("#groups td.empty")).to_have_text("No group matches.")


def test_navigate_to_a_version(page: Page) -> None:
    """From the groups page to a group and a version, which marks the region that differs."""
    from playwright.sync_api import expect

    page.goto("/")
    page.click(f"text={FRAUD}")
    expect(page).to_have_url(re.compile(f"/groups/{FRAUD}$"))
    page.click(f'a[href="/groups/{FRAUD}/versions/1?region=us-east-1"]')
    expect(page.locator("h1")).to_contain_text("v1")
    expect(page.locator("#approval-status")).to_have_text("Approved")
    expect(page.locator("#regions-disagree")).to_be_visible()
    expect(page.locator("#digests tr.differs")).to_have_count(1)
    expect(page.locator("#digests tr.differs")).to_contain_text("eu-west-1")
    expect(page.locator("#inputs tbody tr")).to_have_count(3)
    expect(page.locator("#outputs tbody tr")).to_have_count(2)
    expect(page.locator("#content-types")).to_have_text("text/csv")


def test_sort_and_page_a_group(drift_page: Page) -> None:
    """Header links sort the versions (a second click flips the order), the pager walks the
    pages, and the release numbered differently across regions is marked."""
    from playwright.sync_api import expect

    page = drift_page
    page.goto(f"/groups/{DRIFT}")
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#numbers-differ")).to_contain_text("v2 in eu-west-1, v1 in us-east-1")
    expect(page.locator("#versions .numbers-differ")).to_have_count(2)
    page.click("#sort-region")
    expect(page).to_have_url(re.compile(r"\?sort=region&order=asc$"))
    expect(page.locator("th[aria-sort=ascending]")).to_have_text("Region ▲")
    expect(rows.first).to_contain_text("eu-west-1")
    page.click("#sort-region")
    expect(page).to_have_url(re.compile(r"\?sort=region&order=desc$"))
    expect(rows.first).to_contain_text("us-east-1")

    page.goto(f"/groups/{DRIFT}?sort=region&order=desc&per_page=2")
    expect(rows).to_have_count(2)
    expect(page.locator("#page-of")).to_have_text("page 1 of 2 · 3 versions")
    page.click("#page-next")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("eu-west-1")
    expect(page.locator("#page-of")).to_have_text("page 2 of 2 · 3 versions")
    page.click("#page-prev")
    expect(rows.first).to_contain_text("us-east-1")


def test_version_details_and_styled_controls(drift_page: Page) -> None:
    """From the group page to a version: its release and the number it has elsewhere, the
    description, tags and who registered it; the form controls wear the stylesheet."""
    from playwright.sync_api import expect

    page = drift_page
    page.goto(f"/groups/{DRIFT}")
    page.click(f'a[href="/groups/{DRIFT}/versions/2?region=eu-west-1"]')
    expect(page.locator("#release")).to_have_text(re.compile(r"^[0-9a-f]{12}$"))
    expect(page.locator("#numbers-differ")).to_be_visible()
    expect(page.locator("#release-regions tr.differs")).to_contain_text("us-east-1")
    expect(page.locator("#description")).to_have_text(DRIFT_DESCRIPTION)
    expect(page.locator("#tags .tag")).to_have_text(["stage=canary", "team=payments"])
    expect(page.locator("#registered")).to_contain_text(re.compile(r"\d{2}:\d{2}:\d{2} UTC by "))
    expect(page.locator("#registered-by")).to_contain_text(" on ")
    expect(page.locator("#decide")).to_have_css("background-color", "rgb(35, 57, 93)")
    expect(page.locator("#decide")).to_have_css("border-radius", "5.6px")
    expect(page.locator("#note")).to_have_css("border-top-color", "rgb(184, 192, 204)")
    page.click("#release-regions a:text('us-east-1')")
    expect(page).to_have_url(re.compile(f"/groups/{DRIFT}/versions/1\\?region=us-east-1$"))
    expect(page.locator("#release-regions tr.differs")).to_contain_text("eu-west-1")


def test_approve_a_version(page: Page) -> None:
    """Approve through the form and the confirmation page; the page then shows the new status
    and the history row."""
    from playwright.sync_api import expect

    page.goto(f"/groups/{FRAUD}/versions/1?region=us-west-2")
    expect(page.locator("#approval-status")).to_have_text("PendingManualApproval")
    page.select_option("#decision", "approve")
    page.fill("#note", "looks good in the browser")
    page.click("#decide")
    expect(page.locator("#confirm-question")).to_contain_text("would become Approved")
    expect(page.locator("#confirm-question")).to_contain_text("browser-tester")
    page.click("#confirm")
    expect(page).to_have_url(re.compile(f"/groups/{FRAUD}/versions/1\\?region=us-west-2$"))
    expect(page.locator("#approval-status")).to_have_text("Approved")
    last = page.locator("#history tbody tr").last
    expect(last).to_contain_text("browser-tester")
    expect(last).to_contain_text("looks good in the browser")


def test_cancel_writes_nothing(page: Page) -> None:
    """Cancel on the confirmation page returns to the version unchanged."""
    from playwright.sync_api import expect

    page.goto(f"/groups/{CHURN}/versions/1?region=eu-west-1")
    page.select_option("#decision", "approve")
    page.click("#decide")
    page.click("#cancel")
    expect(page.locator("#approval-status")).to_have_text("Rejected")


def test_api_in_the_browser(page: Page) -> None:
    """The JSON API answers the browser too."""
    response = page.goto("/api/groups?owner=growth-team")
    assert response is not None
    assert response.headers["content-type"] == "application/json"
    assert [row["group"] for row in response.json()] == [CHURN]


def test_token_once_in_the_url(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> None:
    """With a token: without it 401; visiting ?token= once leaves a clean URL and a cookie that
    carries the browser through the pages and the approval form."""
    from playwright.sync_api import expect

    token = "browser-token-0123456789"
    work = tmp_path_factory.mktemp("ui-token")
    with LocalInventory(work / "inventory.db") as inventory, serve(inventory, token=token) as url:
        seed_ui_inventory(inventory, work / "models")
        context = browser.new_context(base_url=url)
        context.set_default_timeout(5000)
        page = context.new_page()
        response = page.goto("/")
        assert response is not None
        assert response.status == 401
        page.goto(f"/groups/{FRAUD}/versions/1?region=us-west-2&token={token}")
        expect(page).to_have_url(re.compile(f"/groups/{FRAUD}/versions/1\\?region=us-west-2$"))
        page.select_option("#decision", "reject")
        page.click("#decide")
        page.click("#confirm")
        expect(page.locator("#approval-status")).to_have_text("Rejected")
        assert [c["httpOnly"] for c in context.cookies()] == [True]
        context.close()
        assert inventory.get_version("us-west-2", FRAUD, 1).approval_status == "Rejected"


@pytest.mark.parametrize(
    ("env", "outcome", "message"),
    [
        ({}, "1 error", "no Chromium at /nonexistent/chromium"),
        ({"MIMSREG_SKIP_BROWSER": "1"}, "1 skipped", "browser tests skipped on request"),
    ],
)
def test_missing_chromium_fails_loudly(env: dict[str, str], outcome: str, message: str) -> None:
    """Without Chromium the browser tests fail saying how to install it; they skip only when
    MIMSREG_SKIP_BROWSER=1 says so."""
    from tests.support.helpers import run_test_alone

    stdout = run_test_alone(
        __file__, "test_api_in_the_browser", {"MIMSREG_CHROMIUM": "/nonexistent/chromium", **env}
    )
    assert outcome in stdout, stdout
    assert message in stdout
