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
from tests.support.ui_seed import CHURN, FRAUD, HOSTILE_OBJECTIVE, seed_ui_inventory

ORIGIN = "http://localhost"  # a loopback name: the Host allow-list answers it by default
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
