"""The web UI in process (Starlette's TestClient): pages, JSON API, filters and the safety rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mimsreg.engine.inventory.base import Inventory
from mimsreg.engine.inventory.local import LocalInventory
from mimsreg.ui import create_app
from tests.support.cli import invoke
from tests.support.ui_seed import (
    CHURN,
    DRIFT,
    DRIFT_DESCRIPTION,
    FRAUD,
    HOSTILE_OBJECTIVE,
    seed_release_drift,
    seed_ui_inventory,
)

ORIGIN = "http://localhost"
HUMAN_TIME = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
)  # a loopback name: the Host allow-list answers it by default
FRAUD_V1_EU = f"/groups/{FRAUD}/versions/1?region=eu-west-1"
APPROVAL_EU = f"/groups/{FRAUD}/versions/1/approval?region=eu-west-1"


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[Inventory]:
    with LocalInventory(tmp_path / "inventory.db") as inventory:
        seed_ui_inventory(inventory, tmp_path / "work")
        yield inventory


@pytest.fixture
def client(inventory: Inventory) -> TestClient:
    return TestClient(create_app(inventory, default_actor="carol"), base_url=ORIGIN)


@pytest.fixture
def writer(inventory: Inventory) -> TestClient:
    return TestClient(
        create_app(inventory, allow_writes=True, default_actor="carol"), base_url=ORIGIN
    )


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def test_groups_page(client: TestClient) -> None:
    """The groups page lists owner, domain, objective, version count and status per region."""
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert FRAUD in html
    assert "my-team-id" in html
    assert "growth-team" in html
    assert "eu-west-1 v1: PendingManualApproval" in html
    assert "us-east-1 v2: PendingManualApproval" in html
    assert "eu-west-1 v1: Rejected" in html
    assert '<td class="num">2</td>' in html
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "read only" in html


def test_metadata_is_escaped(client: TestClient) -> None:
    """Model metadata is user input: a <script> in the objective or a note is shown as text."""
    for path in ["/", f"/groups/{CHURN}", f"/groups/{CHURN}/versions/1?region=eu-west-1"]:
        html = client.get(path).text
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;Churn &amp;" in html, path
    version = client.get(f"/groups/{CHURN}/versions/1?region=eu-west-1").text
    assert "<img src=x" not in version
    assert "&lt;img src=x onerror=alert(1)&gt;" in version
    assert "Predicts churn &lt;i&gt;risk&lt;/i&gt;" in version
    api = client.get("/api/groups").json()
    assert api[1]["objective"] == HOSTILE_OBJECTIVE


def test_search_and_filters(client: TestClient) -> None:
    """q searches group, owner, domain and objective; owner, domain, status and region filter."""

    def groups(**params: str) -> list[str]:
        response = client.get("/api/groups", params=params)
        assert response.status_code == 200, response.text
        return [row["group"] for row in response.json()]

    assert groups() == [FRAUD, CHURN]
    assert groups(q="fraud") == [FRAUD]
    assert groups(q="RETENTION") == [CHURN]
    assert groups(q="nothing") == []
    assert groups(owner="growth-team") == [CHURN]
    assert groups(domain="BuyerSellerMessaging") == [FRAUD]
    assert groups(status="Rejected") == [CHURN]
    assert groups(status="PendingManualApproval") == [FRAUD]
    assert groups(region="FE") == [FRAUD]
    assert groups(region="eu-west-1", status="Rejected") == [CHURN]
    page = client.get("/", params={"q": "churn", "owner": "growth-team"}).text
    assert CHURN in page
    assert f'href="/groups/{FRAUD}"' not in page
    assert 'value="growth-team" selected' in page
    assert "No group matches." in client.get("/", params={"q": "zzz"}).text


def test_bad_filters_are_400(client: TestClient) -> None:
    """An unknown region or status is a 400 with the reason, as a page or as JSON."""
    response = client.get("/", params={"region": "Mars"})
    assert response.status_code == 400
    assert "&#39;Mars&#39; is not an AWS region name" in response.text
    api = client.get("/api/groups", params={"status": "Maybe"})
    assert api.status_code == 400
    assert "status 'Maybe'" in api.json()["error"]


def test_group_page_and_api(client: TestClient) -> None:
    """A group lists every version in every region, marking versions whose regions disagree."""
    html = client.get(f"/groups/{FRAUD}").text
    assert html.count("regions differ") == 3
    assert f"/groups/{FRAUD}/versions/2?region=us-east-1" in html
    data = client.get(f"/api/groups/{FRAUD}").json()
    assert data["version_count"] == 2
    assert [(r["version"], r["region"], r["regions_disagree"]) for r in data["rows"]] == [
        (2, "us-east-1", False),
        (1, "eu-west-1", True),
        (1, "us-east-1", True),
        (1, "us-west-2", True),
    ]
    missing = client.get("/groups/absent")
    assert missing.status_code == 404
    assert "group &#39;absent&#39; is not in the local inventory" in missing.text
    assert client.get("/api/groups/absent").json() == {
        "error": "group 'absent' is not in the local inventory"
    }


def test_version_page(client: TestClient) -> None:
    """Metadata, the schema as two tables, types, image, digests per region, history, payload."""
    response = client.get(FRAUD_V1_EU)
    assert response.status_code == 200
    html = response.text
    inputs = html.split('id="inputs"')[1].split("</table>")[0]
    outputs = html.split('id="outputs"')[1].split("</table>")[0]
    assert "<td>account_age</td><td>NUMERIC</td>" in inputs
    assert "<td>country_code</td><td>TEXT</td>" in inputs
    assert "<td>risk_category</td><td>TEXT</td>" in outputs
    assert "fraud_score" not in inputs
    assert '<dd id="content-types">text/csv</dd>' in html
    assert '<dd id="response-types">application/json</dd>' in html
    assert "dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1" in html
    assert 'id="regions-disagree"' in html
    assert html.count("⚠ differs") == 2
    history = html.split('id="history"')[1].split("</table>")[0]
    assert "<td>PendingManualApproval</td>" in history
    assert "<td>registered</td>" in history
    assert f"/groups/{FRAUD}/versions/1/payload?region=eu-west-1" in html
    assert "payload.tar.gz" in html
    assert "approval-form" not in html
    same = client.get(f"/groups/{FRAUD}/versions/1?region=us-west-2").text
    assert same.count("⚠ differs") == 1
    single = client.get(f"/groups/{FRAUD}/versions/2?region=NA").text
    assert 'id="regions-disagree"' not in single


def test_version_api(client: TestClient) -> None:
    """The API returns the whole record plus each region's digest."""
    data = client.get(f"/api/groups/{FRAUD}/versions/1", params={"region": "us-east-1"}).json()
    assert data["approval_status"] == "Approved"
    assert data["approval_history"][-1] == {
        "status": "Approved",
        "actor": "alice",
        "at": data["approval_history"][-1]["at"],
        "note": "passed review",
    }
    assert data["regions_disagree"] is True
    assert {r["region"]: r["differs"] for r in data["regions"]} == {
        "eu-west-1": True,
        "us-east-1": False,
        "us-west-2": False,
    }
    versions = client.get("/api/versions", params={"group": CHURN}).json()
    assert [(v["group"], v["region"]) for v in versions] == [(CHURN, "eu-west-1")]
    assert len(client.get("/api/versions", params={"region": "NA"}).json()) == 2


def test_version_without_region_redirects(client: TestClient) -> None:
    """A version URL without ?region= redirects to the stable URL of its first region."""
    response = client.get(f"/groups/{FRAUD}/versions/1", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == FRAUD_V1_EU
    api = client.get(f"/api/groups/{FRAUD}/versions/2", follow_redirects=False)
    assert api.headers["location"] == f"/api/groups/{FRAUD}/versions/2?region=us-east-1"
    assert client.get(f"/groups/{FRAUD}/versions/9").status_code == 404
    absent = client.get(f"/groups/{FRAUD}/versions/9?region=eu-west-1")
    assert absent.status_code == 404


def test_payload_download(client: TestClient) -> None:
    """A local sample payload downloads; without a local file the link answers 404."""
    response = client.get(f"/groups/{FRAUD}/versions/1/payload?region=eu-west-1")
    assert response.status_code == 200
    assert response.content[:2] == b"\x1f\x8b"
    redirect = client.get(f"/groups/{FRAUD}/versions/1/payload", follow_redirects=False)
    assert redirect.status_code == 307


def test_missing_payload_file_is_404(client: TestClient, inventory: Inventory) -> None:
    """A payload the store no longer holds gives no download link, and the URL answers 404."""
    record = inventory.get_version("eu-west-1", FRAUD, 1)
    stored = inventory.stored_payload_file(record.record["payload_sha256"])
    assert stored is not None
    stored.unlink()
    assert "/payload?region" not in client.get(FRAUD_V1_EU).text
    response = client.get(f"/groups/{FRAUD}/versions/1/payload?region=eu-west-1")
    assert response.status_code == 404


def test_static_stylesheet(client: TestClient) -> None:
    """The stylesheet ships as package data."""
    response = client.get("/static/ui.css")
    assert response.status_code == 200
    assert "font-family" in response.text
    icon = client.get("/favicon.ico")
    assert icon.headers["content-type"] == "image/svg+xml"


def test_read_only_refuses_posts(client: TestClient, inventory: Inventory) -> None:
    """Without --allow-writes no form is shown and a POST answers 403, writing nothing."""
    html = client.get(FRAUD_V1_EU).text
    assert '<form id="approval-form"' not in html
    response = client.post(
        APPROVAL_EU,
        data={"decision": "approve", "confirm": "yes", "csrf_token": "x"},
        headers={"origin": ORIGIN},
    )
    assert response.status_code == 403
    assert "started without --allow-writes" in response.text
    assert inventory.get_version("eu-west-1", FRAUD, 1).approval_status == "PendingManualApproval"


def test_approve_with_confirmation(writer: TestClient, inventory: Inventory) -> None:
    """The form leads to a confirmation page; confirming records the decision with its history."""
    html = writer.get(FRAUD_V1_EU).text
    assert 'id="approval-form"' in html
    assert 'value="carol"' in html
    token = token_of(html)
    form = {"csrf_token": token, "decision": "approve", "actor": "dave", "note": "<b>ok</b>"}
    confirm = writer.post(APPROVAL_EU, data=form, headers={"origin": ORIGIN})
    assert confirm.status_code == 200
    assert "would become <strong>Approved</strong>" in confirm.text
    assert "&lt;b&gt;ok&lt;/b&gt;" in confirm.text
    assert inventory.get_version("eu-west-1", FRAUD, 1).approval_status == "PendingManualApproval"
    done = writer.post(
        APPROVAL_EU,
        data={**form, "confirm": "yes", "csrf_token": token_of(confirm.text)},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == FRAUD_V1_EU
    record = inventory.get_version("eu-west-1", FRAUD, 1)
    assert record.approval_status == "Approved"
    assert (record.approval_history[-1].actor, record.approval_history[-1].note) == (
        "dave",
        "<b>ok</b>",
    )
    assert inventory.get_version("us-west-2", FRAUD, 1).approval_status == "PendingManualApproval"


def test_reject_defaults_actor(writer: TestClient, inventory: Inventory) -> None:
    """An empty actor field falls back to the default actor; an empty note is no note."""
    token = token_of(writer.get(FRAUD_V1_EU).text)
    response = writer.post(
        APPROVAL_EU,
        data={"csrf_token": token, "decision": "reject", "actor": " ", "confirm": "yes"},
        headers={"referer": ORIGIN + FRAUD_V1_EU},
    )
    assert response.status_code == 200  # followed the redirect to the version page
    record = inventory.get_version("eu-west-1", FRAUD, 1)
    assert record.approval_status == "Rejected"
    assert (record.approval_history[-1].actor, record.approval_history[-1].note) == ("carol", None)


@pytest.mark.parametrize(
    ("token", "headers"),
    [
        ("wrong", {"origin": ORIGIN}),
        ("", {"origin": ORIGIN}),
        (None, {"origin": "http://evil.example"}),
        (None, {"referer": "http://evil.example/page"}),
        (None, {}),
        (None, {"origin": ORIGIN, "sec-fetch-site": "cross-site"}),
        (None, {"origin": "https://localhost"}),
    ],
)
def test_csrf_rejected(
    writer: TestClient, inventory: Inventory, token: str | None, headers: dict[str, str]
) -> None:
    """A POST without the page's token, or from another origin, is 403 and writes nothing."""
    good = token_of(writer.get(FRAUD_V1_EU).text)
    form = {"csrf_token": good if token is None else token, "decision": "approve", "confirm": "yes"}
    response = writer.post(APPROVAL_EU, data=form, headers=headers)
    assert response.status_code == 403
    assert "the form is stale or from another site" in response.text
    assert inventory.get_version("eu-west-1", FRAUD, 1).approval_status == "PendingManualApproval"


def test_token_is_per_process(inventory: Inventory) -> None:
    """Each app has its own token: one from another server process is refused."""
    first = TestClient(create_app(inventory, allow_writes=True), base_url=ORIGIN)
    second = TestClient(create_app(inventory, allow_writes=True), base_url=ORIGIN)
    assert token_of(first.get(FRAUD_V1_EU).text) != token_of(second.get(FRAUD_V1_EU).text)


def test_bad_decision_is_400(writer: TestClient) -> None:
    """A decision other than approve or reject is bad input."""
    token = token_of(writer.get(FRAUD_V1_EU).text)
    response = writer.post(
        APPROVAL_EU, data={"csrf_token": token, "decision": "delete"}, headers={"origin": ORIGIN}
    )
    assert response.status_code == 400


class BrokenInventory(LocalInventory):
    def list_versions(self, region: str | None = None, group: str | None = None) -> list:  # type: ignore[type-arg]
        raise RuntimeError("secret /etc/credentials at line 42")


def test_errors_show_no_trace(tmp_path: Path) -> None:
    """An unexpected error renders a generic 500 page: no exception text, no traceback."""
    with BrokenInventory(tmp_path / "inventory.db") as inventory:
        client = TestClient(create_app(inventory), base_url=ORIGIN, raise_server_exceptions=False)
        response = client.get("/")
        assert response.status_code == 500
        assert "something went wrong on the server" in response.text
        assert "secret" not in response.text
        assert "Traceback" not in response.text
        api = client.get("/api/groups")
        assert api.status_code == 500
        assert api.json() == {"error": "something went wrong on the server"}


def test_unknown_page_and_method(client: TestClient) -> None:
    """Unknown paths are 404 pages; a GET on the approval URL is 405."""
    assert client.get("/nowhere").status_code == 404
    assert client.get(APPROVAL_EU).status_code == 405


def test_allowed_hosts(inventory: Inventory) -> None:
    """Loopback names always, allowed_hosts besides; other Host headers (DNS rebinding): 400."""
    client = TestClient(create_app(inventory, allowed_hosts=["models.example"]), base_url=ORIGIN)
    assert client.get("/", headers={"host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/", headers={"host": "models.example:8765"}).status_code == 200
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
    default = TestClient(create_app(inventory), base_url=ORIGIN)
    assert default.get("/", headers={"host": "models.example"}).status_code == 400


def test_cli_serves_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`mimsreg ui` builds the app over the named inventory and hands it to uvicorn."""
    import uvicorn

    served: dict[str, object] = {}

    def fake_run(app: object, host: str, port: int, log_level: str) -> None:
        served.update(app=app, host=host, port=port)
        client = TestClient(app)  # type: ignore[arg-type]
        served["status"] = client.get("/", headers={"host": "127.0.0.1"}).status_code
        served["rebound"] = client.get("/", headers={"host": "evil.example"}).status_code

    monkeypatch.setattr(uvicorn, "run", fake_run)
    LocalInventory(tmp_path / "inventory.db").close()  # a read-only ui never creates one
    uri = f"sqlite://{tmp_path / 'inventory.db'}"
    result = invoke("ui", "--inventory", uri, "--port", "9999")
    assert result.exit_code == 0, result.output
    assert "mimsreg ui on http://127.0.0.1:9999/ (local inventory, read only)" in result.stdout
    assert (served["host"], served["port"], served["status"]) == ("127.0.0.1", 9999, 200)
    assert served["rebound"] == 400
    result = invoke("ui", "--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    assert "read only" in result.stdout
    assert "without a token: anyone who can reach it can read" in result.stderr
    assert served["rebound"] == 400  # off loopback too: the Host check is always on


def test_cli_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ui extra, `mimsreg ui` says which extra to install (exit 1, no traceback)."""
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = invoke("ui")
    assert result.exit_code == 1
    assert "pip install 'mimsreg[ui]'" in result.stderr
    assert "Traceback" not in result.output


def test_empty_inventory(tmp_path: Path) -> None:
    """An empty inventory shows an empty table and an empty API list, not an error."""
    with LocalInventory(tmp_path / "inventory.db") as inventory:
        client = TestClient(create_app(inventory), base_url=ORIGIN)
        assert "No group matches." in client.get("/").text
        assert client.get("/api/groups").json() == []
        assert client.get("/api/versions").json() == []


# --- releases, details, sorting and paging ---------------------------------------------------


@pytest.fixture
def drifted(inventory: Inventory, tmp_path: Path) -> TestClient:
    """The seeded inventory plus a group whose release is 1 in us-east-1 and 2 in eu-west-1."""
    seed_release_drift(inventory, tmp_path / "drift")
    return TestClient(create_app(inventory), base_url=ORIGIN)


def squeezed(html: str) -> str:
    """``html`` with every run of whitespace one space (templates break lines freely)."""
    return " ".join(html.split())


def rows_of(html: str, table: str) -> list[str]:
    body = html.split(f'<table id="{table}">')[1].split("</tbody>")[0].split("<tbody>")[1]
    return [row for row in body.split("</tr>") if "<td" in row]


def test_group_page_tells_versions_apart(drifted: TestClient, inventory: Inventory) -> None:
    """Each row shows its release, when and by whom it was registered, its description and tags;
    a release numbered differently across regions is marked and named above the table."""
    model = inventory.get_version("us-east-1", DRIFT, 1)
    release, by = model.release, model.record["registered_by"]
    html = drifted.get(f"/groups/{DRIFT}").text
    assert (
        f"Version numbers differ across regions for release <code>{release}</code>: "
        "v2 in eu-west-1, v1 in us-east-1." in squeezed(html)
    )
    rows = rows_of(html, "versions")
    assert [re.findall(r">(\d)</a>.*?<td>([\w-]+)</td>", row, re.S)[0] for row in rows] == [
        ("2", "eu-west-1"),
        ("1", "eu-west-1"),
        ("1", "us-east-1"),
    ]
    drifting = [row for row in rows if f'<code class="release">{release}</code>' in row]
    assert len(drifting) == 2
    assert all("⚠ numbers differ" in row for row in drifting)
    assert [("⚠ numbers differ" in row) for row in rows] == [True, False, True]
    for row in drifting:
        assert "Retrained on Q4 data &amp; &lt;new&gt; features" in row
        assert '<span class="tag">stage=canary</span> <span class="tag">team=payments</span>' in row
        assert f"by {by['user']} on {by['host']}" in row
        assert HUMAN_TIME.search(row)
    assert "an earlier model" in rows[1]
    assert '<span class="tag">' not in rows[1]
    api = drifted.get(f"/api/groups/{DRIFT}").json()["rows"]
    assert [(r["version"], r["region"], r["release"], r["numbers_differ"]) for r in api] == [
        (2, "eu-west-1", release, True),
        (1, "eu-west-1", inventory.get_version("eu-west-1", DRIFT, 1).release, False),
        (1, "us-east-1", release, True),
    ]
    assert api[0]["release_versions"] == {"eu-west-1": 2, "us-east-1": 1}
    # The seeded groups keep one number per release: no warning there.
    assert 'id="numbers-differ"' not in drifted.get(f"/groups/{FRAUD}").text


def test_version_page_release_and_details(drifted: TestClient, inventory: Inventory) -> None:
    """The version page shows the release, the number it has in every region with a warning
    where they differ, the description, tags and who registered it when."""
    record = inventory.get_version("eu-west-1", DRIFT, 2)
    by = record.record["registered_by"]
    html = drifted.get(f"/groups/{DRIFT}/versions/2?region=eu-west-1").text
    assert f'<code id="release">{record.release}</code>' in html
    assert (
        '<p class="mismatch" id="numbers-differ">⚠ Version numbers differ across regions for '
        "this release: v2 in eu-west-1, v1 in us-east-1." in squeezed(html)
    )
    regions = rows_of(html, "release-regions")
    assert ["eu-west-1" in regions[0], "us-east-1" in regions[1]] == [True, True]
    assert "⚠ other number" in regions[1]
    assert "⚠ other number" not in regions[0]
    assert '<dd id="description">Retrained on Q4 data &amp; &lt;new&gt; features</dd>' in html
    assert '<span class="tag">stage=canary</span> <span class="tag">team=payments</span>' in html
    registered = html.split('<dd id="registered">')[1].split("</dd>")[0]
    assert HUMAN_TIME.search(registered)
    assert f'<span id="registered-by">{by["user"]} on {by["host"]}</span> ({by["tool"]})' in (
        registered
    )
    early = drifted.get(f"/groups/{DRIFT}/versions/1?region=eu-west-1").text
    assert 'id="numbers-differ"' not in early
    assert '<dd id="tags"><span class="empty">none</span></dd>' in early
    data = drifted.get(f"/api/groups/{DRIFT}/versions/2", params={"region": "EU"}).json()
    assert (data["release"], data["numbers_differ"]) == (record.release, True)
    assert [(r["region"], r["version"]) for r in data["release_regions"]] == [
        ("eu-west-1", 2),
        ("us-east-1", 1),
    ]
    assert (data["description"], data["tags"]) == (
        DRIFT_DESCRIPTION,
        {"stage": "canary", "team": "payments"},
    )


def test_group_versions_sort_and_page(drifted: TestClient) -> None:
    """The versions table sorts by the column a header names, flips on a second click, pages
    by per_page, and every link keeps the other parameters."""
    html = drifted.get(f"/groups/{DRIFT}").text
    assert (
        f'<th aria-sort="descending"><a href="/groups/{DRIFT}?sort=version&amp;order=asc"' in html
    )
    assert f'href="/groups/{DRIFT}?sort=region&amp;order=asc" id="sort-region"' in html
    assert f'href="/groups/{DRIFT}?sort=created_at&amp;order=desc" id="sort-created_at"' in html
    by_region = drifted.get(f"/groups/{DRIFT}", params={"sort": "region", "order": "desc"}).text
    assert [("us-east-1" in row) for row in rows_of(by_region, "versions")] == [True, False, False]
    header = f'href="/groups/{DRIFT}?sort=region&amp;order=asc" id="sort-region">Region'
    assert header + ' <span class="arrow">▼' in by_region
    newest = drifted.get(f"/api/groups/{DRIFT}", params={"sort": "created_at"}).json()["rows"]
    assert (newest[-1]["version"], newest[-1]["region"]) == (1, "eu-west-1")  # registered first
    oldest = drifted.get(f"/api/groups/{DRIFT}?sort=created_at&order=asc").json()["rows"]
    assert oldest[0] == newest[-1]
    first = drifted.get(f"/groups/{DRIFT}?sort=region&per_page=2").text
    assert len(rows_of(first, "versions")) == 2
    assert "page 1 of 2 · 3 versions" in first
    assert (
        f'href="/groups/{DRIFT}?sort=region&amp;order=asc&amp;per_page=2&amp;page=2" rel="next"'
        in first
    )
    assert 'rel="prev"' not in first
    second = drifted.get(f"/groups/{DRIFT}?sort=region&order=asc&per_page=2&page=2").text
    [last] = rows_of(second, "versions")
    assert "us-east-1" in last
    assert f'href="/groups/{DRIFT}?sort=region&amp;order=asc&amp;per_page=2" rel="prev"' in second
    assert 'rel="next"' not in second
    beyond = drifted.get(f"/groups/{DRIFT}?per_page=2&page=7").text
    assert "No version on page 7." in beyond
    paged = drifted.get(f"/api/groups/{DRIFT}?per_page=2&page=2")
    assert [(r["version"], r["region"]) for r in paged.json()["rows"]] == [(1, "us-east-1")]
    assert (paged.headers["x-total-count"], paged.headers["x-page-count"]) == ("3", "2")
    assert "x-total-count" not in drifted.get(f"/api/groups/{DRIFT}").headers


def test_groups_sort_and_page(drifted: TestClient) -> None:
    """The groups table sorts and pages too; filters survive the header and pager links."""
    assert [g["group"] for g in drifted.get("/api/groups").json()] == [FRAUD, DRIFT, CHURN]
    by_count = drifted.get("/api/groups", params={"sort": "versions", "order": "asc"}).json()
    assert [g["group"] for g in by_count] == [CHURN, FRAUD, DRIFT]
    reverse = drifted.get("/api/groups", params={"sort": "group", "order": "desc"}).json()
    assert [g["group"] for g in reverse] == [CHURN, DRIFT, FRAUD]
    page = drifted.get("/api/groups", params={"per_page": 1, "page": 3})
    assert [g["group"] for g in page.json()] == [CHURN]
    assert page.headers["x-total-count"] == "3"
    html = drifted.get("/", params={"owner": "my-team-id", "per_page": 1}).text
    assert [FRAUD in row for row in rows_of(html, "groups")] == [True]
    assert "page 1 of 2 · 2 groups" in html
    assert 'href="/?owner=my-team-id&amp;per_page=1&amp;page=2" rel="next"' in html
    assert 'href="/?owner=my-team-id&amp;sort=owner&amp;order=asc&amp;per_page=1"' in html
    assert '<input type="hidden" name="per_page" value="1">' in html
    assert '<a href="/?owner=my-team-id">50</a>' in html  # back to the default page size


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "sha256"}, "sort 'sha256': use one of version, region, approval_status"),
        ({"order": "up"}, "order 'up': use asc or desc"),
        ({"page": "0"}, "page '0': use a whole number, 1 or more"),
        ({"page": "two"}, "page 'two': use a whole number, 1 or more"),
        ({"per_page": "201"}, "per_page '201': use a whole number, 1 to 200"),
        ({"per_page": "-5"}, "per_page '-5': use a whole number, 1 to 200"),
    ],
)
def test_bad_table_parameters_are_400(
    drifted: TestClient, params: dict[str, str], message: str
) -> None:
    """A sort key the table has not, an order, page or per_page out of bounds: 400 saying why."""
    response = drifted.get(f"/api/groups/{DRIFT}", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert drifted.get(f"/groups/{DRIFT}", params=params).status_code == 400
    if "sort" not in params:
        assert drifted.get("/", params=params).status_code == 400


@pytest.mark.parametrize("backend", ["local", "sagemaker"])
def test_both_backends_look_the_same(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The same registrations show the same releases, numbers, details and warnings whether the
    inventory is local or SageMaker (moto behind the strict layer)."""
    from mimsreg.engine.inventory import open_inventory

    if backend == "sagemaker":
        request.getfixturevalue("aws")
        opened: Inventory = open_inventory("sagemaker", regions=["us-east-1", "eu-west-1"])
        extra = {"bucket": "mimsreg-test-{region}"}
    else:
        opened, extra = LocalInventory(tmp_path / "inventory.db"), {}
    with opened as inventory:
        seed_release_drift(inventory, tmp_path / "work", extra)
        client = TestClient(create_app(inventory), base_url=ORIGIN)
        rows = client.get(f"/api/groups/{DRIFT}").json()["rows"]
        assert [(r["version"], r["region"], r["numbers_differ"]) for r in rows] == [
            (2, "eu-west-1", True),
            (1, "eu-west-1", False),
            (1, "us-east-1", True),
        ]
        assert rows[0]["release"] == rows[2]["release"] != rows[1]["release"]
        html = client.get(f"/groups/{DRIFT}?sort=created_at&order=asc").text
        versions = rows_of(html, "versions")
        assert "an earlier model" in versions[0]
        assert all(HUMAN_TIME.search(row) for row in versions)
        assert sum("stage=canary" in row for row in versions) == 2
        page = client.get(f"/groups/{DRIFT}/versions/1?region=us-east-1").text
        assert 'id="numbers-differ"' in page
        assert "Retrained on Q4 data &amp; &lt;new&gt; features" in page
        assert '<span id="registered-by">' in page
        # Tags and descriptions edited later (mimsreg tag / describe) show as they are now.
        inventory.update_version(
            "us-east-1", DRIFT, 1, actor="erin", tags={"reviewed": "yes"}, remove_tags=["stage"]
        )
        inventory.update_version("us-east-1", DRIFT, 1, actor="erin", description="Edited")
        edited = client.get(f"/groups/{DRIFT}/versions/1?region=us-east-1").text
        assert '<dd id="description">Edited</dd>' in edited
        assert (
            '<dd id="tags"><span class="tag">reviewed=yes</span> <span class="tag">team=payments'
            in edited
        )
        assert 'id="numbers-differ"' in edited
        [row] = [
            r for r in rows_of(client.get(f"/groups/{DRIFT}").text, "versions") if "us-east-1" in r
        ]
        assert "Edited" in row
        assert "stage=canary" not in row
