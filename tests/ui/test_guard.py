"""The UI beyond loopback: the Host allow-list, the access token, the payload route that serves
only the store's own content-addressed payloads, and error pages without filesystem paths."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mimsreg.engine.inventory.local import LocalInventory
from mimsreg.errors import BadInputError, NotFoundError
from mimsreg.ui import create_app
from mimsreg.ui.guard import TOKEN_COOKIE, exposure_problem, host_of, is_loopback, served_hosts
from mimsreg.ui.routes import without_paths
from tests.support.cli import invoke
from tests.support.ui_seed import FRAUD, seed_ui_inventory

ORIGIN = "http://localhost"
TOKEN = "s3cret-token-0123456789abcdef"
FRAUD_V1_EU = f"/groups/{FRAUD}/versions/1?region=eu-west-1"
PAYLOAD_EU = f"/groups/{FRAUD}/versions/1/payload?region=eu-west-1"
APPROVAL_EU = f"/groups/{FRAUD}/versions/1/approval?region=eu-west-1"
BEARER = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def inventory(tmp_path: Path) -> Iterator[LocalInventory]:
    with LocalInventory(tmp_path / "inventory.db") as inventory:
        seed_ui_inventory(inventory, tmp_path / "work")
        yield inventory


@pytest.fixture
def guarded(inventory: LocalInventory) -> TestClient:
    """Writes allowed, a token required, one extra host name."""
    app = create_app(inventory, allow_writes=True, allowed_hosts=["models.example"], token=TOKEN)
    return TestClient(app, base_url=ORIGIN)


def status_of(inventory: LocalInventory) -> str:
    return inventory.get_version("eu-west-1", FRAUD, 1).approval_status


# --- the Host allow-list ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", 200),
        ("LOCALHOST.:8765", 200),
        ("127.0.0.1:8765", 200),
        ("[::1]:8765", 200),
        ("models.example", 200),
        ("evil.example", 400),
        ("localhost.evil.example", 400),
        ("models.example.evil.example:8765", 400),
        ("127.0.0.1:x", 400),
        ("[::1", 400),
        ("", 400),
    ],
)
def test_host_allow_list(inventory: LocalInventory, host: str, expected: int) -> None:
    """Loopback names and the allowed ones, with or without a port; anything else is 400."""
    client = TestClient(create_app(inventory, allowed_hosts=["models.example"]), base_url=ORIGIN)
    response = client.get("/api/groups", headers={"host": host})
    assert response.status_code == expected, response.text
    if expected == 400:
        assert response.json() == {"error": "this server does not answer to that host"}


def test_rebound_page_cannot_approve(inventory: LocalInventory) -> None:
    """A page on a rebound DNS name gets 400 for the form and for the POST, even where the
    origin check would pass (Origin and Host name the same attacker host)."""
    client = TestClient(create_app(inventory, allow_writes=True), base_url="http://rebind.example")
    assert client.get(FRAUD_V1_EU).status_code == 400
    response = client.post(
        APPROVAL_EU,
        data={"decision": "approve", "confirm": "yes", "csrf_token": "any"},
        headers={"origin": "http://rebind.example"},
    )
    assert response.status_code == 400
    assert "rebind.example" not in response.text
    assert status_of(inventory) == "PendingManualApproval"


def test_host_names() -> None:
    """The pure rules the CLI uses: host parsing, loopback, the served names, the start rule."""
    assert host_of("[::1]:80") == "::1"
    assert host_of("Models.Example.:443") == "models.example"
    assert host_of("a b") is None
    assert host_of("::1") is None  # an IPv6 Host needs its brackets
    assert [is_loopback(h) for h in ("127.0.0.2", "::1", "localhost", "0.0.0.0", "::")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert served_hosts("0.0.0.0") == ["127.0.0.1", "::1", "localhost"]
    assert served_hosts("10.0.0.5", ["Models.Example"]) == [
        "10.0.0.5",
        "127.0.0.1",
        "::1",
        "localhost",
        "models.example",
    ]
    assert exposure_problem("0.0.0.0", True, None)
    assert exposure_problem("0.0.0.0", True, TOKEN) is None
    assert exposure_problem("0.0.0.0", False, None) is None
    assert exposure_problem("127.0.0.1", True, None) is None


# --- the token --------------------------------------------------------------------------------


def test_requests_without_the_token_are_401(guarded: TestClient) -> None:
    """Pages, the API and static files all need the token; a wrong one is refused the same."""
    for path in ["/", "/api/groups", "/static/ui.css", FRAUD_V1_EU, PAYLOAD_EU]:
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == 'Bearer realm="mimsreg ui"'
    assert guarded.get("/api/groups").json() == {"error": "this server needs its access token"}
    wrong = {"authorization": f"Bearer {TOKEN}x"}
    assert guarded.get("/api/groups", headers=wrong).status_code == 401
    assert guarded.get("/api/groups", headers={"authorization": TOKEN}).status_code == 401
    assert guarded.get("/api/groups", headers=BEARER).status_code == 200
    guarded.cookies.set(TOKEN_COOKIE, "nope" * 5)
    assert guarded.get("/api/groups").status_code == 401
    guarded.cookies.set(TOKEN_COOKIE, TOKEN)
    assert guarded.get("/api/groups").status_code == 200


def test_host_is_checked_before_the_token(guarded: TestClient) -> None:
    """A foreign Host gets 400 with or without the token: a rebound page learns nothing."""
    for headers in ({"host": "evil.example"}, {"host": "evil.example", **BEARER}):
        assert guarded.get("/api/groups", headers=headers).status_code == 400


def test_token_in_the_url_sets_a_cookie(guarded: TestClient) -> None:
    """?token= once: a redirect to the same URL without it, setting an HttpOnly cookie that
    then authenticates the browser."""
    response = guarded.get(f"/groups/{FRAUD}?token={TOKEN}&x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/groups/{FRAUD}?x=1"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{TOKEN_COOKIE}={TOKEN};")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert guarded.get("/").status_code == 200  # the client kept the cookie
    # No open redirect: "//host" would leave the site.
    twice = guarded.get(f"{ORIGIN}//evil.example/?token={TOKEN}", follow_redirects=False)
    assert twice.request.url.path == "//evil.example/"
    assert twice.headers["location"] == "/evil.example/"


def test_a_wrong_token_in_the_url_is_401(guarded: TestClient) -> None:
    response = guarded.get(f"/?token={TOKEN}x", follow_redirects=False)
    assert response.status_code == 401
    assert "set-cookie" not in response.headers


def test_approve_with_the_token(guarded: TestClient, inventory: LocalInventory) -> None:
    """With the cookie the two-step form works; a POST without the token writes nothing."""
    import re

    form = {"decision": "approve", "confirm": "yes", "csrf_token": "x"}
    refused = guarded.post(APPROVAL_EU, data=form, headers={"origin": ORIGIN})
    assert refused.status_code == 401
    guarded.get(f"/?token={TOKEN}")
    found = re.search(r'name="csrf_token" value="([^"]+)"', guarded.get(FRAUD_V1_EU).text)
    assert found
    form["csrf_token"] = found.group(1)
    done = guarded.post(APPROVAL_EU, data=form, headers={"origin": ORIGIN}, follow_redirects=False)
    assert done.status_code == 303
    assert status_of(inventory) == "Approved"


def test_token_rules(inventory: LocalInventory) -> None:
    """A short or unsafe token is refused when the app is made."""
    for bad in ["short", "x" * 15, "has space in it 12345", "semi;colon-0123456789"]:
        with pytest.raises(BadInputError, match="16 to 512 characters"):
            create_app(inventory, token=bad)


# --- the payload route ------------------------------------------------------------------------


def forge(database: Path, sql: str, *parameters: object) -> None:
    """Change the row behind the app's back, as someone with the database file could."""
    connection = sqlite3.connect(database)
    with connection:
        connection.execute(
            sql + " WHERE group_name = ? AND version = 1 AND region = 'eu-west-1'",
            (*parameters, FRAUD),
        )
    connection.close()


def test_payload_ignores_a_forged_path(
    client_and_store: tuple[TestClient, LocalInventory], tmp_path: Path
) -> None:
    """A row whose payload_uri names another file still downloads the store's payload."""
    client, inventory = client_and_store
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    forge(inventory.database, "UPDATE versions SET payload_uri = ?", secret.as_uri())
    response = client.get(PAYLOAD_EU)
    assert response.status_code == 200
    assert b"SECRET" not in response.content
    digest = inventory.get_version("eu-west-1", FRAUD, 1).record["payload_sha256"]
    assert hashlib.sha256(response.content).hexdigest() == digest
    assert response.headers["content-disposition"] == 'attachment; filename="payload.tar.gz"'


@pytest.mark.parametrize(
    "forged",
    ["../../../secret.txt", "/etc/passwd", "A" * 64, "model"],
)
def test_payload_with_a_forged_digest_is_404(
    client_and_store: tuple[TestClient, LocalInventory], tmp_path: Path, forged: str
) -> None:
    """A digest that is not 64 lower-case hex digits names nothing; no path is echoed."""
    client, inventory = client_and_store
    if forged == "model":  # a real digest, of the model: its folder holds no payload
        forged = inventory.get_version("eu-west-1", FRAUD, 1).sha256
    forge(
        inventory.database,
        "UPDATE versions SET record = json_set(record, '$.payload_sha256', ?)",
        forged,
    )
    assert "/payload?region" not in client.get(FRAUD_V1_EU).text
    response = client.get(PAYLOAD_EU)
    assert response.status_code == 404
    assert "has no intact sample payload here" in response.text
    assert str(tmp_path) not in response.text


def test_payload_tampered_in_the_store_is_404(
    client_and_store: tuple[TestClient, LocalInventory], tmp_path: Path
) -> None:
    """Bytes that no longer hash to their name, or a symlink in their place, are not served."""
    client, inventory = client_and_store
    digest = inventory.get_version("eu-west-1", FRAUD, 1).record["payload_sha256"]
    stored = inventory.stored_payload_file(digest)
    assert stored is not None
    original = stored.read_bytes()
    stored.write_bytes(original + b"x")
    assert client.get(PAYLOAD_EU).status_code == 404
    stored.unlink()
    elsewhere = tmp_path / "elsewhere.tar.gz"
    elsewhere.write_bytes(original)
    stored.symlink_to(elsewhere)
    assert client.get(PAYLOAD_EU).status_code == 404


def test_stored_payload_file_takes_only_digests(inventory: LocalInventory) -> None:
    """The store answers a digest with its own file, and anything else with None."""
    digest = inventory.get_version("eu-west-1", FRAUD, 1).record["payload_sha256"]
    stored = inventory.stored_payload_file(digest)
    assert stored is not None
    assert stored.is_relative_to(inventory.artifact_root)
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == digest
    for other in [digest.upper(), digest[:-1], "../" + digest[3:], "0" * 64, f"{digest}/x"]:
        assert inventory.stored_payload_file(other) is None, other


def test_payload_of_a_moved_inventory(tmp_path: Path) -> None:
    """The download follows the digest, not a recorded path: a moved inventory still serves it
    (whether its rows hold absolute file:// URIs of the old folder or keys in the store)."""
    import shutil

    with LocalInventory(tmp_path / "old" / "inventory.db") as inventory:
        seed_ui_inventory(inventory, tmp_path / "work")
    shutil.move(tmp_path / "old", tmp_path / "new")
    with LocalInventory(tmp_path / "new" / "inventory.db") as moved:
        assert not (tmp_path / "old").exists()
        client = TestClient(create_app(moved), base_url=ORIGIN)
        assert "/payload?region" in client.get(FRAUD_V1_EU).text
        response = client.get(PAYLOAD_EU)
        assert response.status_code == 200
        assert response.content[:2] == b"\x1f\x8b"


@pytest.fixture
def client_and_store(inventory: LocalInventory) -> tuple[TestClient, LocalInventory]:
    return TestClient(create_app(inventory), base_url=ORIGIN), inventory


# --- no paths in error pages ------------------------------------------------------------------


class PathyInventory(LocalInventory):
    """Raises errors whose text names files, as a backend's messages may."""

    def list_versions(self, region: str | None = None, group: str | None = None) -> list:  # type: ignore[type-arg]
        if group:
            raise NotFoundError(f"no such file {str(self.database)!r} or {self.database.as_uri()}")
        raise BadInputError(f"cannot read {self.database.parent}/my models/x.db: denied")


def test_error_pages_show_no_paths(tmp_path: Path) -> None:
    """404 and 400 pages keep their reason but blank every filesystem path, page and JSON."""
    with PathyInventory(tmp_path / "inventory.db") as inventory:
        client = TestClient(create_app(inventory), base_url=ORIGIN)
        for path in ["/", "/api/groups", "/groups/g", "/api/groups/g"]:
            response = client.get(path)
            assert response.status_code in (400, 404), path
            assert str(tmp_path) not in response.text, path
            assert "my models" not in response.text, path
            assert "&lt;path&gt;" in response.text or "<path>" in response.text, path


def test_without_paths() -> None:
    """What counts as a path, and what is left alone."""
    assert without_paths("cannot open '/srv/a b/inv.db': locked") == "cannot open <path>: locked"
    assert without_paths("at file:///tmp/x.tar.gz, gone") == "at <path> gone"
    assert without_paths("in ~/.mimsreg/inventory.db") == "in <path>"
    kept = "group 'Fraud-Detection' v1/2 in eu-west-1: approve/reject only; Rejected"
    assert without_paths(kept) == kept


def test_reasons_without_paths_are_kept(tmp_path: Path) -> None:
    """An error naming no file reaches the visitor unchanged."""
    with LocalInventory(tmp_path / "inventory.db") as inventory:
        client = TestClient(create_app(inventory), base_url=ORIGIN)
        response = client.get("/api/groups/absent")
        assert json.loads(response.text) == {
            "error": "group 'absent' is not in the local inventory"
        }


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """uvicorn.run replaced: records the app and what requests to it answer."""
    import uvicorn

    seen: dict[str, object] = {}

    def fake_run(app: object, host: str, port: int, log_level: str) -> None:
        client = TestClient(app, base_url=ORIGIN)  # type: ignore[arg-type]
        seen.update(host=host, port=port)
        seen["foreign"] = client.get("/", headers={"host": "evil.example", **BEARER}).status_code
        seen["no token"] = client.get("/").status_code
        seen["token"] = client.get("/", headers=BEARER).status_code
        seen["bound"] = client.get("/", headers={"host": "10.1.2.3:8765", **BEARER}).status_code
        seen["extra"] = client.get("/", headers={"host": "models.example", **BEARER}).status_code

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return seen


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "models.example"])
def test_cli_refuses_writes_off_loopback_without_a_token(
    served: dict[str, object], tmp_path: Path, host: str
) -> None:
    """`ui --host 0.0.0.0 --allow-writes` does not start without a token: exit 2, the reason."""
    uri = f"sqlite://{tmp_path / 'inventory.db'}"
    result = invoke("ui", "--inventory", uri, "--host", host, "--allow-writes")
    assert result.exit_code == 2, result.output
    assert f"--host {host} with --allow-writes" in result.stderr
    assert "give --token or --token-file" in result.stderr
    assert served == {}
    assert not (tmp_path / "inventory.db").exists()  # nothing opened, nothing written


def test_cli_with_a_token(served: dict[str, object], tmp_path: Path) -> None:
    """With a token: a foreign Host 400, no token 401, the token 200; the URL carries it."""
    uri = f"sqlite://{tmp_path / 'inventory.db'}"
    result = invoke(
        "ui", "--inventory", uri, "--host", "10.1.2.3", "--allow-writes", "--token", TOKEN,
        "--allowed-host", "Models.Example", "--port", "9000",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert served == {
        "host": "10.1.2.3",
        "port": 9000,
        "foreign": 400,
        "no token": 401,
        "token": 200,
        "bound": 200,
        "extra": 200,
    }
    assert f"mimsreg ui on http://10.1.2.3:9000/?token={TOKEN} (local" in result.stdout
    assert "answering to Host: 10.1.2.3, 127.0.0.1, ::1, localhost, models.example" in (
        result.stderr
    )
    assert "over plain HTTP" in result.stderr


def test_cli_token_file(served: dict[str, object], tmp_path: Path) -> None:
    """--token-file: the first line, stripped; the wildcard bind prints the extra host's URL."""
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    uri = f"sqlite://{tmp_path / 'inventory.db'}"
    result = invoke(
        "ui", "--inventory", uri, "--host", "0.0.0.0", "--allow-writes",
        "--token-file", str(secret), "--allowed-host", "models.example",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (served["no token"], served["token"]) == (401, 200)
    assert f"http://models.example:8765/?token={TOKEN} " in result.stdout


def test_cli_bad_token_options(served: dict[str, object], tmp_path: Path) -> None:
    """Each bad token option exits 2 naming the option (and the file), starting nothing."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    short = tmp_path / "short"
    short.write_text("abc\n")
    cases = [
        (["--token", "abc"], "--token: the token must be 16 to 512 characters"),
        (["--token-file", str(tmp_path / "absent")], "absent': not a regular file"),
        (["--token-file", str(fifo)], "fifo': not a regular file"),  # no hang on a FIFO
        (["--token-file", str(short)], "short': the token must be"),
        (["--token", TOKEN, "--token-file", str(short)], "--token or --token-file, not both"),
        (["--allowed-host", "http://x.example"], "--allowed-host/--host: 'http://x.example'"),
        (["--allowed-host", "*"], "is not a host name or IP address"),
    ]
    for options, message in cases:
        result = invoke("ui", "--inventory", f"sqlite://{tmp_path / 'i.db'}", *options)
        assert result.exit_code == 2, (options, result.output)
        assert message in result.stderr, (options, result.stderr)
    assert served == {}


def test_cli_token_from_the_environment(
    served: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MIMSREG_UI_TOKEN is --token, kept out of the process list."""
    monkeypatch.setenv("MIMSREG_UI_TOKEN", TOKEN)
    uri = f"sqlite://{tmp_path / 'inventory.db'}"
    result = invoke("ui", "--inventory", uri, "--host", "0.0.0.0", "--allow-writes")
    assert result.exit_code == 0, result.output
    assert (served["foreign"], served["no token"], served["token"]) == (400, 401, 200)
