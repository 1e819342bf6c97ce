"""The routes of ``mimsreg ui``: HTML pages, the JSON API, the two-step approval form.

Each handler finds what the app was made with (:class:`UiState`) on ``request.app.state.ui``.
Sync handlers run in Starlette's thread pool, so a slow backend (SageMaker) does not block the
event loop; the inventories are safe to share between threads.
"""

from __future__ import annotations

import hmac
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from mimsreg.engine.inventory.base import Inventory
from mimsreg.errors import BadInputError, NotFoundError
from mimsreg.ui.tables import Table, TableQuery, table_query
from mimsreg.ui.views import (
    DECISIONS,
    FIRST_ORDER,
    GROUP_SORTS,
    GROUPS_DEFAULT,
    PAYLOAD_CHUNK,
    VERSION_SORTS,
    VERSIONS_DEFAULT,
    GroupSummary,
    api_version,
    drifted_releases,
    filters_of,
    group_rows,
    groups_of,
    local_payload,
    open_payload,
    payload_digest,
    region_of,
    summaries,
    version_context,
    with_details,
)

__all__ = [
    "SECURITY_HEADERS",
    "UiState",
    "error",
    "routes",
    "url",
    "version_url",
    "without_paths",
]

# Defence in depth behind autoescaping: no scripts at all, styles and forms only from here.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class UiState:
    """What the app was made with: the inventory, whether it writes, templates, form secrets."""

    inventory: Inventory
    allow_writes: bool
    environment: Environment
    csrf_token: str
    actor_default: str


def url(path: str, **params: object) -> str:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return path + ("?" + urlencode(query) if query else "")


def group_url(group: str) -> str:
    return f"/groups/{quote(group, safe='')}"


def version_url(group: str, version: int, region: str | None = None) -> str:
    return url(f"{group_url(group)}/versions/{version}", region=region)


def _ui(request: Request) -> UiState:
    state: UiState = request.app.state.ui
    return state


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _ui(request).environment.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


# Absolute paths and file:// URIs, quoted (may hold spaces) or bare: error text reaches the
# network, and where the inventory lives on disk is none of a visitor's business.
_PATHS = re.compile(
    r"""(?:'(?:file://|~?/)[^']*'|"(?:file://|~?/)[^"]*"|file://\S*|(?<![\w.~%-])~?/[^\s'",;)]+)"""
)


def without_paths(message: str) -> str:
    return _PATHS.sub("<path>", message)


def error(request: Request, status_code: int, title: str, message: str) -> Response:
    """The error as JSON under /api/, else as a page; filesystem paths in it are blanked."""
    message = without_paths(message)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status_code)
    return page(request, "error.html", status_code, title=title, message=message)


# --- groups -----------------------------------------------------------------------------------


def _query(request: Request, keys: Any, default: TableQuery, *, api: bool = False) -> TableQuery:
    """The table's sort and page; the JSON API pages only when asked (``page`` or ``per_page``):
    its lists were whole before paging existed, and scripts rely on that."""
    query = table_query(request.query_params, list(keys), default, FIRST_ORDER)
    if api and not any(name in request.query_params for name in ("page", "per_page")):
        return replace(query, per_page=sys.maxsize)
    return query


def _api_headers(table: Table[Any]) -> dict[str, str] | None:
    return table.headers() if table.query.per_page != sys.maxsize else None


def _groups_table(request: Request, *, api: bool = False) -> tuple[Table[GroupSummary], Any]:
    filters = filters_of(request)
    found = groups_of(_ui(request).inventory, filters)
    table = Table.of(
        found["groups"],
        _query(request, GROUP_SORTS, GROUPS_DEFAULT, api=api),
        GROUP_SORTS,
        path=request.url.path,
        default=GROUPS_DEFAULT,
        keep={name: value for name, value in filters.items() if value},
        first_order=FIRST_ORDER,
    )
    return table, {**found, "filters": filters}


def groups_page(request: Request) -> Response:
    table, found = _groups_table(request)
    return page(
        request,
        "groups.html",
        filters=found["filters"],
        table=table,
        owners=found["owners"],
        domains=found["domains"],
    )


def groups_api(request: Request) -> Response:
    table, _ = _groups_table(request, api=True)
    body = [summary.to_dict() for summary in table.rows]
    return JSONResponse(body, headers=_api_headers(table))


def _versions_table(
    request: Request, rows: list[dict[str, Any]], *, api: bool = False
) -> Table[dict[str, Any]]:
    return Table.of(
        rows,
        _query(request, VERSION_SORTS, VERSIONS_DEFAULT, api=api),
        VERSION_SORTS,
        path=request.url.path,
        default=VERSIONS_DEFAULT,
        first_order=FIRST_ORDER,
    )


def _summary(inventory: Inventory, group: str) -> GroupSummary:
    [summary] = [s for s in summaries(inventory) if s.group == group]
    return summary


def group_page(request: Request) -> Response:
    inventory, group = _ui(request).inventory, request.path_params["group"]
    everything = group_rows(inventory, group)
    table = _versions_table(request, everything)
    return page(
        request,
        "group.html",
        summary=_summary(inventory, group),
        table=table,
        # Only this page's versions are read whole: a listing carries no record.
        rows=with_details(inventory, table.rows),
        drifted=drifted_releases(everything),
    )


def group_api(request: Request) -> Response:
    inventory, group = _ui(request).inventory, request.path_params["group"]
    table = _versions_table(request, group_rows(inventory, group), api=True)
    body = {**_summary(inventory, group).to_dict(), "rows": table.rows}
    return JSONResponse(body, headers=_api_headers(table))


# --- versions ---------------------------------------------------------------------------------


def _locate(request: Request) -> tuple[str, int, str | None]:
    """Group, version and region of a version URL; the region is None when not given."""
    group = request.path_params["group"]
    version = int(request.path_params["version"])
    region = request.query_params.get("region", "").strip()
    return group, version, region_of(region) if region else None


def _default_region(request: Request, group: str, version: int) -> Response:
    """A version URL without a region redirects to the stable URL of its first region."""
    inventory = _ui(request).inventory
    regions = inventory.regions_of(group, version)
    if not regions:
        raise NotFoundError(f"{group}/{version} is not in the {inventory.name} inventory")
    return RedirectResponse(url(request.url.path, region=regions[0]), status_code=307)


def version_page(request: Request) -> Response:
    group, version, region = _locate(request)
    if region is None:
        return _default_region(request, group, version)
    ui = _ui(request)
    context = version_context(ui.inventory, group, version, region)
    context["payload_download"] = local_payload(ui.inventory, context["record"]) is not None
    return page(
        request,
        "version.html",
        csrf_token=ui.csrf_token,
        actor=ui.actor_default,
        decisions=DECISIONS,
        **context,
    )


def version_api(request: Request) -> Response:
    group, version, region = _locate(request)
    if region is None:
        return _default_region(request, group, version)
    return JSONResponse(
        api_version(version_context(_ui(request).inventory, group, version, region))
    )


def versions_api(request: Request) -> Response:
    region = request.query_params.get("region", "").strip()
    group = request.query_params.get("group", "").strip() or None
    records = _ui(request).inventory.list_versions(
        region=region_of(region) if region else None, group=group
    )
    return JSONResponse([r.summary() for r in records])


def payload_file(request: Request) -> Response:
    """The version's sample payload, from the store by its recorded digest, verified first."""
    group, version, region = _locate(request)
    if region is None:
        return _default_region(request, group, version)
    inventory = _ui(request).inventory
    record = inventory.get_version(region, group, version)
    path, digest = local_payload(inventory, record), payload_digest(record)
    opened = open_payload(path, digest) if path is not None and digest is not None else None
    if opened is None:
        raise NotFoundError(f"{group}/{version} in {region} has no intact sample payload here")
    handle, size = opened

    def chunks() -> Iterator[bytes]:
        with handle:
            yield from iter(lambda: handle.read(PAYLOAD_CHUNK), b"")

    headers = {
        **SECURITY_HEADERS,
        "Content-Length": str(size),
        "Content-Disposition": 'attachment; filename="payload.tar.gz"',
    }
    return StreamingResponse(chunks(), media_type="application/gzip", headers=headers)


# --- approval ---------------------------------------------------------------------------------


def _same_origin(request: Request) -> bool:
    """The form was posted by a page of this server: Origin (or Referer) names this host."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return False
    parts = urlsplit(source)
    host = request.headers.get("host", "")
    return parts.scheme == request.url.scheme and parts.netloc == host


async def approval(request: Request) -> Response:
    """Step 1 (no ``confirm``): a confirmation page. Step 2: record the decision, redirect."""
    ui = _ui(request)
    if not ui.allow_writes:
        return error(request, 403, "Read only", "started without --allow-writes")
    form = await request.form()
    token = str(form.get("csrf_token", ""))
    if not hmac.compare_digest(token.encode(), ui.csrf_token.encode()) or not _same_origin(request):
        return error(request, 403, "Forbidden", "the form is stale or from another site")
    group, version, region = _locate(request)
    decision = str(form.get("decision", ""))
    if region is None or decision not in DECISIONS:
        raise BadInputError("the form needs a region and a decision (approve or reject)")
    actor = str(form.get("actor", "")).strip() or ui.actor_default
    note = str(form.get("note", "")).strip() or None
    if form.get("confirm") != "yes":
        record = await run_in_threadpool(ui.inventory.get_version, region, group, version)
        return page(
            request,
            "confirm.html",
            record=record,
            decision=decision,
            status=DECISIONS[decision],
            actor=actor,
            note=note or "",
            csrf_token=ui.csrf_token,
        )
    await run_in_threadpool(
        ui.inventory.set_approval, region, group, version, DECISIONS[decision], actor, note
    )
    return RedirectResponse(version_url(group, version, region), status_code=303)


def favicon(request: Request) -> Response:
    # Browsers ask for /favicon.ico even on JSON responses.
    return RedirectResponse("/static/favicon.svg", status_code=301)


def routes() -> list[Route]:
    """Every route but the static files."""
    version_path = "/groups/{group}/versions/{version:int}"
    return [
        Route("/", groups_page, name="groups"),
        Route("/groups/{group}", group_page),
        Route(version_path, version_page),
        Route(version_path + "/payload", payload_file),
        Route(version_path + "/approval", approval, methods=["POST"]),
        Route("/favicon.ico", favicon),
        Route("/api/groups", groups_api),
        Route("/api/groups/{group}", group_api),
        Route("/api/groups/{group}/versions/{version:int}", version_api),
        Route("/api/versions", versions_api),
    ]
