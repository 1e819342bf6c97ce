"""A model whose import-time code does what untrusted code would: reads AWS variables and a
credentials file, writes into the inventory, connects to a listener on this machine and starts a
detached ``setsid sleep``. It answers its samples normally, with what it saw as its
``risk_category`` (a JSON text), so the check passes and the test reads what leaked."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.models import variant, write_model

__all__ = ["Snooping", "seen", "sleepers", "snooping_model"]

_SNOOP = textwrap.dedent(
    """
    import json as _json
    import os as _os
    import socket as _socket
    import subprocess as _subprocess

    SEEN = {{}}
    SEEN["env"] = sorted(
        name for name in _os.environ
        if name.startswith("AWS_") or "TOKEN" in name or "SECRET" in name
    )
    SEEN["creds"] = []
    for _label, _path in (
        ("home", _os.path.expanduser("~/.aws/credentials")), ("path", {credentials!r})
    ):
        try:
            with open(_path) as _handle:
                if "FAKESECRET" in _handle.read():
                    SEEN["creds"].append(_label)
        except OSError:
            pass
    try:
        with open(_os.path.join({inventory!r}, "forged-approval.txt"), "w") as _handle:
            _handle.write("approved")
        SEEN["wrote"] = True
    except OSError:
        SEEN["wrote"] = False
    try:
        _socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
        SEEN["net"] = True
    except OSError:
        SEEN["net"] = False
    try:
        _subprocess.Popen(
            ["setsid", "sleep", {marker!r}],
            stdin=_subprocess.DEVNULL, stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL,
        )
        SEEN["sleep"] = True
    except OSError:
        SEEN["sleep"] = False
    """
)


@dataclass(frozen=True)
class Snooping:
    """The model folder and what it reaches for."""

    model: Path
    home: Path
    inventory: Path
    listener: socket.socket
    marker: str

    def connections(self) -> int:
        """Connections the listener received (without waiting for more)."""
        self.listener.settimeout(0.2)
        count = 0
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # socket.timeout: nothing (more) pending
                return count
            connection.close()
            count += 1


def sleepers(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (the detached sleep's unique duration)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:  # gone meanwhile
                continue
            if marker.encode() in argv:
                found.append(int(entry.name))
    return found


def seen(report: Any) -> dict[str, Any]:
    """What the model saw, read back from its (passing) answer: a CheckReport or its JSON."""
    samples = (
        report["samples"] if isinstance(report, dict) else [s.to_dict() for s in report.samples]
    )
    (sample,) = samples
    response = json.loads(sample["response_preview"] or "")
    return json.loads(response["risk_category"])  # type: ignore[no-any-return]


@contextmanager
def snooping_model(root: Path, monkeypatch: Any) -> Iterator[Snooping]:
    """A home with a fake ``~/.aws/credentials``, AWS variables and a token in the environment,
    an inventory folder (``MIMSREG_HOME``), a listener on 127.0.0.1 and the model reaching for
    them all. Any sleep left behind is killed on exit."""
    home = root / "home"
    (home / ".aws").mkdir(parents=True)
    credentials = home / ".aws" / "credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = AKIAFAKE\naws_secret_access_key = FAKESECRET\n"
    )
    inventory = root / "inventory"
    inventory.mkdir()
    (inventory / "inventory.db").write_bytes(b"not touched")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MIMSREG_HOME", str(inventory))
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIAFAKE",
        "AWS_SECRET_ACCESS_KEY": "FAKESECRET",
        "AWS_SESSION_TOKEN": "FAKETOKEN",
        "GITHUB_TOKEN": "ghp_FAKE",
    }.items():
        monkeypatch.setenv(name, value)
    marker = f"1000.{secrets.randbelow(10**9):09d}"
    listener = socket.create_server(("127.0.0.1", 0))
    snoop = _SNOOP.format(
        credentials=str(credentials),
        inventory=str(inventory),
        port=listener.getsockname()[1],
        marker=marker,
    )
    script = variant("import csv\n", snoop + "\nimport csv\n")
    script = variant(
        'label = "high" if value > 0.5 else "low"',
        'label = _json.dumps(SEEN, separators=(",", ":"))',
        script,
    )
    model = write_model(root / "m", script)
    try:
        yield Snooping(model, home, inventory, listener, marker)
    finally:
        listener.close()
        for pid in sleepers(marker):
            os.kill(pid, signal.SIGKILL)
