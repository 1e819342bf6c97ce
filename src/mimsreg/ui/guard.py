"""Who may talk to ``mimsreg ui``: the Host allow-list and the access token, as ASGI middleware.

The Host check runs on every request, whatever the address bound: a page whose DNS name was
rebound to this server sends its own name as Host and gets 400. The token (optional on
loopback, required to approve from other machines) is accepted as ``Authorization: Bearer``,
or as a cookie that visiting any URL with ``?token=`` sets once, so a browser can use it.
The pure parts (host names, the startup rule) are here too so the CLI and tests share them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mimsreg.errors import BadInputError
from mimsreg.ui.routes import error

__all__ = [
    "LOOPBACK_HOSTS",
    "TOKEN_COOKIE",
    "HostGuard",
    "TokenGuard",
    "exposure_problem",
    "host_of",
    "is_loopback",
    "normalise_host",
    "served_hosts",
    "valid_token",
]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_COOKIE = "mimsreg_ui_token"
# Cookie- and URL-safe without quoting; 16 characters at least so it cannot be guessed.
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{16,512}")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_WILDCARD_BINDS = ("0.0.0.0", "::", "")


def normalise_host(value: str) -> str:
    """A host name or IP address as compared: lower case, no brackets, no trailing dot.

    Raises ``ValueError`` for anything else (a port, a scheme, a path, a wildcard).
    """
    host = value.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    host = host.removesuffix(".")
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{value!r} is not a host name or IP address (no port, scheme or '*')")
    return host


def host_of(header: str) -> str | None:
    """The host named by a Host header (``name``, ``name:port``, ``[v6]:port``); None if bad."""
    if header.startswith("["):
        name, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port = rest[1:]
    else:
        name, _, port = header.partition(":")
    if port and not port.isdigit():
        return None
    try:
        return normalise_host(name)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    try:
        name = normalise_host(host)
        return name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def served_hosts(bound: str, extra: Iterable[str] = ()) -> list[str]:
    """The Host names answered: loopback names, the address bound (unless a wildcard), ``extra``."""
    names = [*LOOPBACK_HOSTS, *extra]
    if bound.strip() not in _WILDCARD_BINDS:
        names.append(bound)
    return sorted({normalise_host(name) for name in names})


def valid_token(value: str, source: str) -> str:
    """The token, stripped; :class:`BadInputError` naming ``source`` when too short or unsafe."""
    token = value.strip()
    if not _TOKEN.fullmatch(token):
        raise BadInputError(
            f"{source}: the token must be 16 to 512 characters of A-Z a-z 0-9 . _ ~ - "
            f"(got {len(token)} characters); for example: python3 -c "
            "'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return token


def exposure_problem(host: str, allow_writes: bool, token: str | None) -> str | None:
    """Why the UI must not start this way, or None: approvals open to the network need a token."""
    if allow_writes and token is None and not is_loopback(host):
        return (
            f"--host {host} with --allow-writes: anyone who can reach this address could approve "
            "models; give --token or --token-file (every request must then carry the token), "
            "or bind 127.0.0.1"
        )
    return None


class HostGuard:
    """400 for any Host header not in the allow-list (DNS rebinding), before anything else."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed = frozenset(normalise_host(host) for host in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if host_of(request.headers.get("host", "")) in self.allowed:
            await self.app(scope, receive, send)
            return
        # The header is not echoed: the page needs no attacker-chosen text.
        response = error(request, 400, "Bad request", "this server does not answer to that host")
        await _refuse(response, scope, receive, send)


class TokenGuard:
    """401 unless the request carries the token (Bearer header, cookie, or ``?token=`` once)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._digest = _digest(token)

    def _matches(self, offered: str | None) -> bool:
        # Digests of equal length, compared in constant time: no timing hint about the token.
        return offered is not None and hmac.compare_digest(_digest(offered), self._digest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        offered = request.query_params.get("token")
        if offered is not None:
            if self._matches(offered) and request.method in ("GET", "HEAD"):
                await _refuse(_remember(request, offered), scope, receive, send)
                return
        elif self._matches(_bearer(request)) or self._matches(request.cookies.get(TOKEN_COOKIE)):
            await self.app(scope, receive, send)
            return
        response = error(request, 401, "Token needed", "this server needs its access token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="mimsreg ui"'
        await _refuse(response, scope, receive, send)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _remember(request: Request, token: str) -> Response:
    """The same URL without ``token`` (kept out of history and logs), setting the cookie."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    # One leading slash: "//host/..." would be a redirect to another site.
    location = "/" + request.url.path.lstrip("/") + ("?" + urlencode(query) if query else "")
    response = RedirectResponse(location, status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        httponly=True,
        samesite="lax",  # sent when a link from elsewhere is followed; forms are CSRF-checked
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def _refuse(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await response(scope, receive, send)
