"""The sandbox around the model's code: what a snooping model reaches with bubblewrap (nothing),
and what it reaches without (said in a warning); the environment, limits and mounts inside;
requirements installed in the sandbox from the index the user names only.

Tests that need bubblewrap FAIL saying how to install it when it does not work here (`make test`
installs it), unless MIMSREG_SKIP_SANDBOX=1 asks to skip them.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mimsreg.check import Limits, check_model
from mimsreg.check.run import MAX_EVENT_LINE_BYTES, MAX_EVENT_TEXT, _read_events
from mimsreg.check.sandbox import resolve_isolation, sandbox_command
from mimsreg.config import ModelRegistrationConfig
from mimsreg.engine.spec import RegistrationSpec
from mimsreg.errors import BadInputError, InvalidPackageError, IsolationWarning
from tests.check.test_check import build_wheel
from tests.support.cli import invoke
from tests.support.helpers import run_test_alone
from tests.support.models import pack, variant, write_model
from tests.support.snooping_model import Snooping, seen, sleepers, snooping_model

NOT_SANDBOXED = "warning: the model's code was NOT sandboxed: "
MISSING_BWRAP = (
    "bubblewrap does not work here ({reason}); install it (`make bubblewrap`, or "
    "apt-get install bubblewrap) or set MIMSREG_SKIP_SANDBOX=1 to skip the sandbox tests"
)


@pytest.fixture
def bwrap() -> None:
    """bubblewrap works here, or the test fails saying how to get it (skips only on request)."""
    if os.environ.get("MIMSREG_SKIP_SANDBOX") == "1":
        pytest.skip("MIMSREG_SKIP_SANDBOX=1: sandbox tests skipped on request")
    isolation = resolve_isolation("auto")
    if isolation.mode != "bwrap":
        pytest.fail(MISSING_BWRAP.format(reason=isolation.reason), pytrace=False)


@pytest.fixture
def spec(seed_kwargs: dict[str, Any]) -> RegistrationSpec:
    return ModelRegistrationConfig(**seed_kwargs).to_spec()


@pytest.fixture
def config_file(tmp_path: Path, seed_kwargs: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(seed_kwargs))
    return path


@pytest.fixture
def snoop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Snooping]:
    with snooping_model(tmp_path / "snoop", monkeypatch) as snooping:
        yield snooping


def gone(marker: str, within: float = 5.0) -> bool:
    """No process holds ``marker`` (a SIGKILLed sandbox may take a moment to be torn down)."""
    deadline = time.monotonic() + within
    while sleepers(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- the done-when model ------------------------------------------------------------------------


NOTHING_SEEN = {"env": [], "creds": [], "wrote": False, "net": False, "sleep": True}


def test_nothing_leaks_from_the_sandbox(bwrap: None, snoop: Snooping, config_file: Path) -> None:
    """`check` (isolation auto, bubblewrap here) reports normally; the model saw no AWS variable
    or token, no credentials file, could not write MIMSREG_HOME, reached no listener, and its
    detached `setsid sleep` did not outlive the check."""
    result = invoke("check", snoop.model, "--config", config_file, "--json", "--env", "current")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert (report["passed"], report["isolation"], report["warnings"]) == (True, "bwrap", [])
    assert seen(report) == NOTHING_SEEN
    assert sorted(path.name for path in snoop.inventory.iterdir()) == ["inventory.db"]
    assert (snoop.inventory / "inventory.db").read_bytes() == b"not touched"
    assert snoop.connections() == 0
    assert sleepers(snoop.marker) == []


def test_nothing_leaks_from_the_python_api(
    bwrap: None, snoop: Snooping, spec: RegistrationSpec
) -> None:
    """check_model(isolation="bwrap") likewise, without a warning."""
    report = check_model(snoop.model, spec, isolation="bwrap")
    assert report.passed, report.to_dict()
    assert seen(report) == NOTHING_SEEN
    assert snoop.connections() == 0
    assert sleepers(snoop.marker) == []


def test_a_detached_process_is_killed_with_a_timed_out_sandbox(
    bwrap: None, snoop: Snooping, spec: RegistrationSpec
) -> None:
    """A model that hangs after starting `setsid sleep`: killed at the timeout, the sleep too."""
    script = (snoop.model / "code" / "inference.py").read_text()
    hanging = variant(
        "def predict_fn(records, model):\n",
        "def predict_fn(records, model):\n    import time\n    time.sleep(600)\n",
        script,
    )
    (snoop.model / "code" / "inference.py").write_text(hanging)
    report = check_model(snoop.model, spec, timeout=1.5)
    assert report.error == "timed out after 1.5 s; the child was killed"
    assert gone(snoop.marker)


@pytest.mark.parametrize("isolation", ["none", "auto"])
def test_without_bwrap_the_output_says_what_is_not_contained(
    snoop: Snooping,
    config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    isolation: str,
) -> None:
    """--isolation none, or auto where bubblewrap does not work: the check still passes, the
    environment is scrubbed and HOME is a temporary folder, and a warning names what is not
    contained, which this model does reach: the credentials file by its path, the inventory,
    the listener, a process that outlives the check."""
    missing = tmp_path / "no-bwrap"
    monkeypatch.setenv("MIMSREG_BWRAP", str(missing))
    result = invoke(
        "check",
        snoop.model,
        "--config",
        config_file,
        "--isolation",
        isolation,
        "--json",
        "--env",
        "current",
    )
    assert result.exit_code == 0, result.output
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(NOT_SANDBOXED)
    for named in (
        "your files",
        "~/.aws/credentials",
        "MIMSREG_HOME",
        "the network",
        "processes it starts in a new session",
    ):
        assert named in warning.split("Contained:")[0]
    if isolation == "auto":
        assert f"bubblewrap does not work here ({missing} cannot run: " in warning
    report = json.loads(result.stdout)
    assert (report["isolation"], report["warnings"]) == ("none", [warning[len("warning: ") :]])
    assert seen(report) == {"env": [], "creds": ["path"], "wrote": True, "net": True, "sleep": True}
    assert (snoop.inventory / "forged-approval.txt").read_text() == "approved"
    assert snoop.connections() == 1
    assert sleepers(snoop.marker) != []  # killed by the fixture


def test_the_python_api_warns_without_bwrap(snoop: Snooping, spec: RegistrationSpec) -> None:
    """check_model(isolation="none") raises IsolationWarning and the report holds it."""
    with pytest.warns(IsolationWarning, match="NOT sandboxed") as caught:
        report = check_model(snoop.model, spec, isolation="none")
    assert report.warnings == (str(caught[0].message),)
    assert report.isolation == "none"


def test_isolation_bwrap_where_it_does_not_work_is_bad_input(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--isolation bwrap never falls back: exit 2 with the reason."""
    monkeypatch.setenv("MIMSREG_BWRAP", str(tmp_path / "no-bwrap"))
    result = invoke(
        "check", write_model(tmp_path / "m"), "--config", config_file, "--isolation", "bwrap"
    )
    assert result.exit_code == 2
    assert "--isolation bwrap: bubblewrap cannot sandbox here: " in result.stderr


@pytest.mark.parametrize("isolation", ["auto", "none"])
def test_register_check_takes_the_isolation(
    bwrap: None, snoop: Snooping, config_file: Path, tmp_path: Path, isolation: str
) -> None:
    """`register --check --isolation`: sandboxed (no warning, the inventory folder untouched by
    the model) or not (a warning line), and the model registered either way."""
    archive = pack(snoop.model, tmp_path / "model.tar.gz")
    inventory = f"sqlite:///{tmp_path / 'registry.db'}"
    result = invoke(
        "register",
        archive,
        "--config",
        config_file,
        "--inventory",
        inventory,
        "--check",
        "--isolation",
        isolation,
        "--env",
        "current",
    )
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith(NOT_SANDBOXED)]
    assert len(warned) == (isolation == "none")
    assert (snoop.inventory / "forged-approval.txt").exists() == (isolation == "none")


# --- inside the sandbox -------------------------------------------------------------------------


PROBE = """
import json, os, resource, socket, sys
def writes(path):
    try:
        with open(path, "a") as handle:
            handle.write("x")
        return True
    except OSError:
        return False
limits = {name: resource.getrlimit(getattr(resource, name))[0]
          for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NPROC")}
print(json.dumps({
    "limits": limits,
    "env": sorted(os.environ),
    "home": os.environ["HOME"],
    "cwd": os.getcwd(),
    "model": writes(sys.argv[1] + "/code/x.txt"),
    "work": writes(sys.argv[2] + "/x.txt"),
    "writable": writes(sys.argv[3]),
    "in_home": writes(os.environ["HOME"] + "/x.txt"),
    "credentials": os.path.exists(sys.argv[4]),
    "etc_shadow": os.path.exists("/etc/shadow"),
    "pid": os.getpid(),
    "hostname": socket.gethostname(),
}))
"""


@pytest.mark.parametrize("mode", ["bwrap", "none"])
def test_environment_limits_and_mounts(tmp_path: Path, mode: str, request: Any) -> None:
    """The command sees an allow-listed environment (no AWS_*, no tokens), the rlimits asked
    for, and under bubblewrap: the model and work folders read-only, only the writable path
    writable, a private HOME, no user home, no /etc/shadow, its own PID namespace."""
    if mode == "bwrap":
        request.getfixturevalue("bwrap")
    isolation = resolve_isolation(mode)
    secret = tmp_path / "user" / ".aws" / "credentials"
    secret.parent.mkdir(parents=True)
    secret.write_text("[default]\n")
    request.getfixturevalue("monkeypatch").setenv("HOME", str(tmp_path / "user"))
    model, work = write_model(tmp_path / "m"), tmp_path / "work"
    work.mkdir()
    out = work / "out.txt"
    out.touch()
    limits = Limits(
        memory_bytes=3 * 1024**3, cpu_seconds=77, file_size_bytes=12345678, processes=99
    )
    command = sandbox_command(
        [sys.executable, "-c", PROBE, str(model), str(work), str(out), str(secret)],
        model_dir=model,
        work_dir=work,
        isolation=isolation,
        interpreter=sys.executable,
        limits=limits,
        writable=[out],
        env={"SAGEMAKER_PROGRAM": "inference.py"},
    )
    assert not any(name.startswith("AWS_") for name in command.env)
    result = subprocess.run(
        command.argv,
        env=command.env,
        cwd=command.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    inside = json.loads(result.stdout)
    allowed = {
        "PATH",
        "PWD",
        "HOME",
        "TMPDIR",
        "PYTHONDONTWRITEBYTECODE",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "SAGEMAKER_PROGRAM",
    }
    assert set(inside["env"]) <= allowed, inside["env"]
    assert inside["limits"]["RLIMIT_AS"] == limits.memory_bytes
    assert inside["limits"]["RLIMIT_CPU"] == 77
    assert inside["limits"]["RLIMIT_FSIZE"] == 12345678
    assert inside["writable"] is True
    assert inside["in_home"] is True
    assert inside["cwd"] == str(model)
    if mode == "none":
        assert inside["home"] == str(work / "home")
        assert inside["limits"]["RLIMIT_NPROC"] > 99  # what the user already runs, plus 99
        return
    assert inside["limits"]["RLIMIT_NPROC"] == 99
    assert (inside["model"], inside["work"]) == (False, False)
    assert (inside["credentials"], inside["etc_shadow"]) == (False, False)
    assert inside["home"] == "/tmp/home"
    assert inside["pid"] < 10  # its own PID namespace
    assert inside["hostname"] == "mimsreg-check"
    assert not (model / "code" / "x.txt").exists()


def test_a_model_over_its_memory_limit_fails(
    bwrap: None, tmp_path: Path, spec: RegistrationSpec
) -> None:
    """RLIMIT_AS: a model_fn allocating 2 GiB under a 1 GiB limit gets a MemoryError."""
    script = variant(
        "def model_fn(model_dir):\n", "def model_fn(model_dir):\n    bytearray(2 * 1024**3)\n"
    )
    report = check_model(
        write_model(tmp_path / "m", script), spec, limits=Limits(memory_bytes=1024**3)
    )
    assert report.error is not None
    assert report.error.startswith("model_fn raised MemoryError"), report.error


def test_a_bound_folder_holding_the_home_is_refused(
    bwrap: None, tmp_path: Path, spec: RegistrationSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An extracted model folder that contains MIMSREG_HOME (or the user's home) would show it
    to the model: bad input, nothing run."""
    model = write_model(tmp_path / "m")
    monkeypatch.setenv("MIMSREG_HOME", str(model / "inventory"))
    with pytest.raises(BadInputError, match=r"holds .*inventory' \(your home or the inventory\)"):
        check_model(model, spec)


# --- requirements -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("--index-url https://evil.example/simple", "pip options (--index-url)"),
        ("-i https://evil.example/simple", "pip options (-i)"),
        ("--extra-index-url=https://evil.example/simple", "pip options (--extra-index-url)"),
        ("-e .", "pip options (-e)"),
        ("-r other.txt", "pip options (-r)"),
        ("--trusted-host evil.example", "pip options (--trusted-host)"),
        ("git+https://github.com/x/y.git", "VCS and URL requirements are refused"),
        ("https://evil.example/pkg-1.0.tar.gz", "VCS and URL requirements are refused"),
        ("pkg @ https://evil.example/pkg.whl", "VCS and URL requirements are refused"),
        ("pkg @ file:///tmp/pkg.whl", "VCS and URL requirements are refused"),
        ("./tinydep-1.0-py3-none-any.whl", "local paths are refused"),
        ("../pkg", "local paths are refused"),
        ("/abs/pkg", "local paths are refused"),
        ("pkg.whl", "local paths are refused"),
        ("pkg==${VERSION}", "not a plain requirement"),
        ("pkg==1.0 --global-option=--x", "not a plain requirement"),
    ],
)
def test_requirement_lines_that_are_refused(tmp_path: Path, line: str, reason: str) -> None:
    """Only plain requirements are taken from the model's file: the error names the line."""
    from mimsreg.check.requirements import safe_requirements

    path = tmp_path / "requirements.txt"
    path.write_text(f"numpy==1.26.4\n\n# a comment\n{line}\n")
    with pytest.raises(InvalidPackageError) as raised:
        safe_requirements(path)
    message = str(raised.value)
    assert message.startswith(f"code/requirements.txt line 4: {line!r}: "), message
    assert reason in message


def test_plain_requirement_lines_are_accepted(tmp_path: Path) -> None:
    """Names, extras, specifiers, markers, hashes, comments and continuations pass as they are."""
    from mimsreg.check.requirements import safe_requirements

    path = tmp_path / "requirements.txt"
    path.write_text(
        "numpy>=1.24,<2  # pinned below 2\n"
        'scikit-learn[alldeps] == 1.2.1 ; python_version < "3.12"\n'
        "xgboost==1.7.6 \\\n    --hash=sha256:" + "ab" * 32 + "\n"
        "pandas\n"
    )
    assert safe_requirements(path) == [
        "numpy>=1.24,<2",
        'scikit-learn[alldeps] == 1.2.1 ; python_version < "3.12"',
        "xgboost==1.7.6     --hash=sha256:" + "ab" * 32,
        "pandas",
    ]


def test_cli_refuses_an_index_line_with_exit_2(tmp_path: Path, config_file: Path) -> None:
    """`check --install-requirements` on a model whose requirements name an index: exit 2, the
    line named, nothing installed or run."""
    model = write_model(tmp_path / "m", requirements="tinydep\n--extra-index-url http://x/\n")
    result = invoke(
        "check", model, "--config", config_file, "--install-requirements", "--env", "current"
    )
    assert result.exit_code == 2
    assert "code/requirements.txt line 2: '--extra-index-url http://x/': pip options" in (
        result.stderr
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        type(self).requests.append(self.path)


@pytest.mark.slow
def test_pip_reaches_the_index_the_model_does_not(
    bwrap: None, tmp_path: Path, spec: RegistrationSpec
) -> None:
    """--install-requirements with --index-url: pip, in the sandbox with this machine's
    network, installs from a PEP 503 index on 127.0.0.1; the model's own code, run next, cannot
    reach that same server."""
    index = tmp_path / "index"
    (index / "simple" / "tinydep").mkdir(parents=True)
    build_wheel(index)
    (index / "simple" / "tinydep" / "index.html").write_text(
        '<a href="../../tinydep-1.0-py3-none-any.whl">tinydep-1.0-py3-none-any.whl</a>\n'
    )
    handler = type("Handler", (_Quiet,), {"requests": []})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *args: handler(*args, directory=str(index))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    reach = (
        "import csv\nimport socket, tinydep\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        "    raise SystemExit('the model reached the index')\n"
        "except OSError:\n"
        "    pass\n"
    )
    model = write_model(tmp_path / "m", variant("import csv\n", reach), requirements="tinydep\n")
    try:
        report = check_model(
            model,
            spec,
            install_requirements=True,
            isolation="bwrap",
            index_url=f"http://127.0.0.1:{port}/simple/",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert report.passed, report.to_dict()
    assert "/tinydep-1.0-py3-none-any.whl" in handler.requests


# --- what is read back --------------------------------------------------------------------------


def test_events_read_back_are_capped(tmp_path: Path) -> None:
    """The events file is the model's to write too: an oversized line is skipped unread, so is one
    nested too deep to parse, long strings are cut, and no more events than asked for are kept."""
    path = tmp_path / "results.jsonl"
    huge = json.dumps({"event": "fatal", "x": "y" * MAX_EVENT_LINE_BYTES})
    long_message = {"event": "fatal", "error": {"message": "m" * (MAX_EVENT_TEXT * 3)}}
    deep = '{"event": "fatal", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [huge, deep, json.dumps({"event": "loaded"}), json.dumps(long_message)]
    lines += [json.dumps({"event": "done"})] * 50
    path.write_text("\n".join(lines) + "\n")
    events = _read_events(path, max_events=4)
    assert [event["event"] for event in events] == ["loaded", "fatal", "done", "done"]
    assert events[1]["error"]["message"] == "m" * MAX_EVENT_TEXT + "..."


# --- bubblewrap missing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "outcome", "message"),
    [
        ({}, "1 error", "bubblewrap does not work here"),
        ({"MIMSREG_SKIP_SANDBOX": "1"}, "1 skipped", "sandbox tests skipped on request"),
    ],
)
def test_missing_bwrap_fails_loudly(env: dict[str, str], outcome: str, message: str) -> None:
    """Without a working bubblewrap the sandbox tests fail saying how to install it; they skip
    only when MIMSREG_SKIP_SANDBOX=1 says so."""
    stdout = run_test_alone(
        __file__,
        "test_nothing_leaks_from_the_python_api",
        {"MIMSREG_BWRAP": "/nonexistent/bwrap", **env},
    )
    assert outcome in stdout, stdout
    assert message in stdout
