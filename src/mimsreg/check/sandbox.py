"""The sandbox around the model's code (``mimsreg check``): bubblewrap when it works here, else a
scrubbed environment and resource limits, with a warning naming what is not contained.

:func:`sandbox_command` turns a command (the child, or pip) plus the folders it needs into the
command line, environment and working folder to start; the launcher (:mod:`.run`) only starts it.
Under bubblewrap the command sees: the system read-only (``/usr``, the ``/lib`` links, a few files
of ``/etc``, never ``/etc/shadow``), its interpreter's installation, the model and the work folder
read-only, the paths it may write (the results file, pip's target), a private ``/tmp`` holding its
``HOME``, its own ``/proc`` and ``/dev``; no network unless asked (pip's index), its own PID, IPC,
UTS, cgroup and user namespaces, a new session, no capabilities, and it dies with its parent. The
environment is built from an allow-list (no ``AWS_*``, no tokens). Resource limits are set by a
few lines of Python run by the command's own interpreter just before it ``exec``\\ s the command,
so they count inside the sandbox's user namespace. See ``docs/check.md`` for the threat model.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mimsreg.errors import BadInputError

__all__ = [
    "ISOLATIONS",
    "Isolation",
    "Limits",
    "SandboxCommand",
    "probe_bwrap",
    "resolve_isolation",
    "sandbox_command",
]

ISOLATIONS = ("auto", "bwrap", "none")
GIB = 1024**3
# MIMSREG_BWRAP names the bubblewrap binary (default: `bwrap` on PATH).
BWRAP_VARIABLE = "MIMSREG_BWRAP"
SANDBOX_HOSTNAME = "mimsreg-check"
_PATH = "/usr/local/bin:/usr/bin:/bin"
# The system, read-only: these folders (or the links usr-merged systems have in their place) ...
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# ... and of /etc only what programs need to run and reach an index: no shadow, no ssh, no sudoers.
_ETC_FILES = (
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/os-release",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/gai.conf",
    "/etc/resolv.conf",
    "/etc/mime.types",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/crypto-policies",
)
# Copied from this process when set: a locale and a time zone tell nothing secret.
_INHERITED = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
# pip's run only (it needs a proxy to reach the index where there is one; no model code runs).
_PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
)

# Run by the command's own interpreter (any Python 3.7+, stdlib only): the limits, then exec.
# argv: AS CPU FSIZE NPROC -- COMMAND...; a limit is never raised above the hard limit in force.
_SET_LIMITS = """\
import os, resource, sys
names = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NPROC")
for name, text in zip(names, sys.argv[1:5]):
    which = getattr(resource, name)
    hard = resource.getrlimit(which)[1]
    value = int(text) if hard == resource.RLIM_INFINITY else min(int(text), hard)
    resource.setrlimit(which, (value, value))
os.execv(sys.argv[6], sys.argv[6:])
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits of the sandboxed command (``setrlimit``), and the size of its private
    ``/tmp`` under bubblewrap. ``processes`` counts tasks (threads too) inside the sandbox; without
    bubblewrap it is added to what the user already runs, since the kernel counts them all."""

    memory_bytes: int = 8 * GIB
    cpu_seconds: int = 600
    file_size_bytes: int = 1 * GIB
    processes: int = 256
    scratch_bytes: int = 1 * GIB

    @classmethod
    def for_timeout(cls, timeout: float) -> Limits:
        """The default limits for a run of ``timeout`` seconds: CPU time enough for every core
        busy all along (the wall-clock timeout is the real bound; this one outlives no escape)."""
        cores = os.cpu_count() or 1
        return cls(cpu_seconds=math.ceil(timeout) * cores + 5)


@dataclass(frozen=True)
class Isolation:
    """How the model's code runs: ``mode`` is ``bwrap`` or ``none``; ``requested`` is what was
    asked (``auto``, ``bwrap``, ``none``); ``reason`` why ``auto`` could not use bubblewrap."""

    mode: str
    requested: str
    bwrap: str | None = None
    reason: str | None = None
    features: frozenset[str] = field(default_factory=frozenset)

    @property
    def warning(self) -> str | None:
        """The loud line saying what is not contained, or None under bubblewrap."""
        if self.mode == "bwrap":
            return None
        if self.requested == "auto":
            why = f"bubblewrap does not work here ({self.reason}), so --isolation auto ran it"
        else:
            why = "--isolation none ran it"
        return (
            f"the model's code was NOT sandboxed: {why} without a sandbox. NOT contained: "
            "your files (it could read your home folder, credentials files such as "
            "~/.aws/credentials by their path, and write MIMSREG_HOME), the network, and "
            "processes it starts in a new session (they may outlive the check). Contained: an "
            "allow-listed environment (no AWS_* variables or tokens), a temporary HOME, limits on "
            "memory, CPU time, file size and processes"
        )


@dataclass(frozen=True)
class SandboxCommand:
    """What to start: ``argv`` with ``env`` (nothing else) in ``cwd``."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    isolation: Isolation


# --- finding bubblewrap -------------------------------------------------------------------------


def _bwrap_path() -> str | None:
    named = os.environ.get(BWRAP_VARIABLE)
    return named if named else shutil.which("bwrap")


@functools.lru_cache(maxsize=8)
def probe_bwrap(bwrap: str) -> tuple[str | None, frozenset[str]]:
    """(why ``bwrap`` cannot make the sandbox here or None, the optional options it has).

    Runs it once per path with the namespaces the sandbox uses (a container without user
    namespaces, a kernel that forbids them or a missing binary all show here)."""
    try:
        help_text = subprocess.run(
            [bwrap, "--help"], capture_output=True, timeout=10, check=False
        ).stdout.decode("utf-8", "replace")
        features = frozenset(
            option for option in ("--disable-userns", "--size") if option in help_text
        )
        args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
        args += [*_system_args(), "--proc", "/proc", "--dev", "/dev", "true"]
        result = subprocess.run(args, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{bwrap} cannot run: {exc}", frozenset()
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1][:200] if lines else f"exit {result.returncode}"
        return f"{bwrap} failed: {last}", frozenset()
    return None, features


def resolve_isolation(requested: str) -> Isolation:
    """``auto``, ``bwrap`` or ``none`` → the isolation to use. ``bwrap`` that does not work
    here is :class:`BadInputError`; ``auto`` falls back to ``none`` with the reason."""
    if requested not in ISOLATIONS:
        raise BadInputError(f"isolation must be one of {', '.join(ISOLATIONS)}, got {requested!r}")
    if requested == "none":
        return Isolation("none", requested)
    bwrap = _bwrap_path()
    if bwrap is None:
        reason: str | None = "no bwrap on PATH; install the bubblewrap package"
        features: frozenset[str] = frozenset()
    else:
        reason, features = probe_bwrap(bwrap)
    if reason is None and bwrap is not None:
        return Isolation("bwrap", requested, bwrap=bwrap, features=features)
    if requested == "bwrap":
        raise BadInputError(f"--isolation bwrap: bubblewrap cannot sandbox here: {reason}")
    return Isolation("none", requested, reason=reason)


# --- the command --------------------------------------------------------------------------------


def _system_args() -> list[str]:
    args: list[str] = []
    for folder in _SYSTEM_DIRS:
        path = Path(folder)
        if path.is_symlink():
            args += ["--symlink", str(path.readlink()), folder]
        elif path.is_dir():
            args += ["--ro-bind", folder, folder]
    for name in _ETC_FILES:
        args += ["--ro-bind-try", name, name]
    return args


def _python_roots(interpreter: str) -> list[Path]:
    """The folders an interpreter needs: its installation (the folder above ``bin/``) as called
    and as resolved, and a virtualenv's base (``home`` in ``pyvenv.cfg``); only folders that look
    like a Python installation, else just the interpreter file."""
    roots: list[Path] = []
    for path in (Path(interpreter).absolute(), Path(interpreter).resolve()):
        root = path.parent.parent
        config = root / "pyvenv.cfg"
        if config.is_file():
            roots.append(root)
            for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home" and value.strip():
                    roots.append(Path(value.strip()).parent)
        elif any((root / "lib").glob("python3*")):
            roots.append(root)
        else:
            roots.append(path)
    system = [Path(folder) for folder in _SYSTEM_DIRS]
    return [
        root
        for root in dict.fromkeys(roots)
        if not any(root.is_relative_to(folder) for folder in system)
    ]


def _protected() -> list[Path]:
    """What no bound folder may contain: the user's home and the inventory."""
    paths = [Path.home(), Path(os.environ.get("HOME") or "/").expanduser()]
    if os.environ.get("MIMSREG_HOME"):
        paths.append(Path(os.environ["MIMSREG_HOME"]).expanduser())
    return [path.resolve() for path in paths if str(path) != "/"]


def _refuse_exposing(paths: Sequence[Path]) -> None:
    protected = _protected()
    for path in paths:
        resolved = path.resolve()
        for secret in protected:
            if secret == resolved or secret.is_relative_to(resolved):
                raise BadInputError(
                    f"{str(path)!r} holds {str(secret)!r} (your home or the inventory): the "
                    "sandbox will not show it to the model's code; use a folder of its own"
                )


def _bind_args(read_only: Sequence[Path], writable: Sequence[Path]) -> list[str]:
    """Bind mounts, outer folders first so that an inner one (a writable file in a read-only
    folder) lands on top."""
    binds = [(path, "--ro-bind") for path in read_only] + [(path, "--bind") for path in writable]
    binds.sort(key=lambda bind: len(bind[0].absolute().parts))
    args: list[str] = []
    for path, option in binds:
        args += [option, str(path.absolute()), str(path.absolute())]
    return args


def _bwrap_argv(
    isolation: Isolation,
    read_only: Sequence[Path],
    writable: Sequence[Path],
    cwd: str,
    network: bool,
    limits: Limits,
) -> list[str]:
    assert isolation.bwrap is not None
    args = [isolation.bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    if "--disable-userns" in isolation.features:
        args += ["--unshare-user", "--disable-userns"]
    if network:
        args.append("--share-net")
    args += ["--cap-drop", "ALL", "--hostname", SANDBOX_HOSTNAME, *_system_args()]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for scratch in ("/tmp", "/dev/shm"):
        if "--size" in isolation.features:
            args += ["--size", str(limits.scratch_bytes)]
        args += ["--tmpfs", scratch]
    args += ["--dir", "/tmp/home", *_bind_args(read_only, writable)]
    return [*args, "--remount-ro", "/", "--chdir", cwd]


def _tasks_of_user() -> int:
    """Tasks (threads included) this user runs now: what RLIMIT_NPROC counts outside a user
    namespace."""
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += sum(1 for _ in Path(entry.path, "task").iterdir())
            except OSError:  # gone meanwhile
                continue
    return count


def _environment(
    extra: Mapping[str, str], home: str, tmp: str, interpreter: str, network: bool
) -> dict[str, str]:
    env = {
        "PATH": f"{Path(interpreter).absolute().parent}:{_PATH}",
        "HOME": home,
        "TMPDIR": tmp,
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    inherited = (*_INHERITED, *_PROXY_VARIABLES) if network else _INHERITED
    env.update({name: os.environ[name] for name in inherited if name in os.environ})
    env.update(extra)
    return env


def sandbox_command(
    argv: Sequence[str],
    *,
    model_dir: Path,
    work_dir: Path,
    isolation: Isolation,
    interpreter: str,
    limits: Limits,
    read_only: Sequence[Path] = (),
    writable: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    network: bool = False,
    cwd: Path | None = None,
) -> SandboxCommand:
    """The command line, environment and folder that run ``argv`` (a command of
    ``interpreter``) in the sandbox.

    ``model_dir`` and ``work_dir`` are visible read-only, as are ``read_only`` (say, an image's
    Python environment) and the interpreter's installation; ``writable`` paths (which must exist)
    are writable; everything keeps its path. ``env`` is added to the allow-listed environment.
    ``network`` shares this machine's network (pip's index; never the model's code). Under
    ``none`` the same command runs with the same environment and limits, HOME and TMPDIR in
    ``work_dir``. Raises :class:`BadInputError` for a folder that would show the model the user's
    home or the inventory.
    """
    visible = [model_dir, work_dir, *read_only, *writable]
    _refuse_exposing(visible)
    directory = str(cwd or model_dir)
    processes = limits.processes
    if isolation.mode == "bwrap":
        home, tmp = "/tmp/home", "/tmp"
        roots = _python_roots(shutil.which(interpreter) or interpreter)
        prefix = _bwrap_argv(
            isolation,
            [*roots, work_dir, model_dir, *read_only],
            writable,
            directory,
            network,
            limits,
        )
    else:
        home, tmp = str(work_dir / "home"), str(work_dir / "tmp")
        for folder in (home, tmp):
            Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        prefix = []
        processes += _tasks_of_user()
    numbers = (limits.memory_bytes, limits.cpu_seconds, limits.file_size_bytes, processes)
    wrapper = [interpreter, "-I", "-S", "-c", _SET_LIMITS, *map(str, numbers), "--"]
    return SandboxCommand(
        argv=[*prefix, *wrapper, *argv],
        env=_environment(env or {}, home, tmp, interpreter, network),
        cwd=directory,
        isolation=isolation,
    )
