"""The Starlette application behind ``mimsreg ui``.

Safe by default: every value is autoescaped (model metadata is user input), nothing is written
unless the app was created with ``allow_writes=True``, the approval form carries a per-process
CSRF token and must come from the same origin, and errors render a generic page, never a trace.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mimsreg.engine.inventory.base import Inventory, VersionRecord
from mimsreg.engine.spec import ApprovalStatus, normalise_region
from mimsreg.errors import BadInputError, NotFoundError

__all__ = ["DECISIONS", "GroupSummary", "create_app"]

# The two decisions the page offers, as the CLI's `approve` and `approve --reject`.
DECISIONS = {"approve": ApprovalStatus.APPROVED.value, "reject": ApprovalStatus.REJECTED.value}
STATUSES = [status.value for status in ApprovalStatus]
FILTERS = ("q", "owner", "domain", "status", "region")

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


@dataclass
class GroupSummary:
    """One row of the groups page."""

    group: str
    owner: str
    domain: str
    objective: str
    versions: list[int] = field(default_factory=list)
    # Region -> (latest version number there, its approval status).
    latest: dict[str, tuple[int, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "owner": self.owner,
            "domain": self.domain,
            "objective": self.objective,
            "version_count": len(self.versions),
            "versions": self.versions,
            "latest": {
                region: {"version": version, "approval_status": status}
                for region, (version, status) in sorted(self.latest.items())
            },
        }


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _summaries(inventory: Inventory, region: str | None = None) -> list[GroupSummary]:
    """Groups with their metadata (from each group's newest version) and per-region status."""
    by_group: dict[str, list[VersionRecord]] = {}
    for record in inventory.list_versions(region=region):
        by_group.setdefault(record.group, []).append(record)
    summaries = []
    for group, records in sorted(by_group.items()):
        newest = max(records, key=lambda r: (r.version, r.region))
        full = inventory.get_version(newest.region, group, newest.version).to_dict()
        summary = GroupSummary(
            group=group,
            owner=_text(full.get("model_owner")),
            domain=_text(full.get("model_registration_domain")),
            objective=_text(full.get("model_registration_objective")),
            versions=sorted({r.version for r in records}),
        )
        for record in records:
            known = summary.latest.get(record.region)
            if known is None or record.version > known[0]:
                summary.latest[record.region] = (record.version, record.approval_status)
        summaries.append(summary)
    return summaries


def _matches(summary: GroupSummary, filters: dict[str, str]) -> bool:
    query = filters.get("q", "").casefold()
    if query and not any(
        query in text.casefold()
        for text in (summary.group, summary.owner, summary.domain, summary.objective)
    ):
        return False
    if filters.get("owner") and summary.owner != filters["owner"]:
        return False
    if filters.get("domain") and summary.domain != filters["domain"]:
        return False
    status = filters.get("status")
    return not status or any(s == status for _, s in summary.latest.values())


def _filters(request: Request) -> dict[str, str]:
    """The search and filter query parameters, trimmed; the region normalised (400 if unknown)."""
    filters = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    if filters["region"]:
        filters["region"] = _region(filters["region"])
    if filters["status"] and filters["status"] not in STATUSES:
        raise BadInputError(f"status {filters['status']!r}: use one of {', '.join(STATUSES)}")
    return filters


def _region(value: str) -> str:
    try:
        return normalise_region(value)
    except ValueError as exc:
        raise BadInputError(f"region: {exc}") from exc


def _groups(inventory: Inventory, filters: dict[str, str]) -> dict[str, Any]:
    in_region = _summaries(inventory, filters["region"] or None)
    # The owner and domain choices stay the same whichever region is chosen.
    every = _summaries(inventory) if filters["region"] else in_region
    return {
        "groups": [s for s in in_region if _matches(s, filters)],
        "owners": sorted({s.owner for s in every if s.owner}),
        "domains": sorted({s.domain for s in every if s.domain}),
    }


def _version_context(inventory: Inventory, group: str, version: int, region: str) -> dict[str, Any]:
    """Everything the version page and its API show: the record and the digest in each region."""
    record = inventory.get_version(region, group, version)
    data = record.to_dict()
    digests: list[dict[str, Any]] = [
        {
            "region": r.region,
            "sha256": r.sha256,
            "approval_status": r.approval_status,
            "differs": r.sha256 != record.sha256,
        }
        for r in inventory.list_versions(group=group)
        if r.version == version
    ]
    schema = data.get("variable_schema") or {}
    return {
        "record": record,
        "data": data,
        "inputs": (schema.get("input") or {}).get("variables") or [],
        "outputs": (schema.get("output") or {}).get("variables") or [],
        "digests": digests,
        "regions_disagree": any(row["differs"] for row in digests),
    }


def _api_version(context: dict[str, Any]) -> dict[str, Any]:
    data = dict(context["data"])
    data["regions"] = context["digests"]
    data["regions_disagree"] = context["regions_disagree"]
    return data


def _local_payload(record: VersionRecord) -> Path | None:
    """The sample payload's file when the inventory keeps it on this machine."""
    uri = record.payload_uri or ""
    if not uri.startswith("file://"):
        return None
    path = Path(unquote(urlsplit(uri).path))
    return path if path.is_file() else None


def create_app(
    inventory: Inventory,
    allow_writes: bool = False,
    *,
    allowed_hosts: Sequence[str] | None = None,
    default_actor: str | None = None,
) -> Starlette:
    """The web app over ``inventory``; it approves or rejects only when ``allow_writes``.

    ``allowed_hosts`` (default: any) are the Host header values served, against DNS rebinding;
    ``default_actor`` prefills the approval form (default: the OS user).
    """
    from mimsreg.api import current_context

    environment = Environment(
        loader=PackageLoader("mimsreg.ui", "templates"),
        autoescape=True,  # every template, whatever its name: model metadata is user input
        trim_blocks=True,
        lstrip_blocks=True,
    )
    csrf_token = secrets.token_urlsafe(32)
    actor_default = default_actor or current_context().user

    def url(path: str, **params: object) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "")}
        return path + ("?" + urlencode(query) if query else "")

    def group_url(group: str) -> str:
        return f"/groups/{quote(group, safe='')}"

    def version_url(group: str, version: int, region: str | None = None) -> str:
        return url(f"{group_url(group)}/versions/{version}", region=region)

    environment.globals.update(
        url=url,
        group_url=group_url,
        version_url=version_url,
        allow_writes=allow_writes,
        statuses=STATUSES,
        inventory_name=inventory.name,
    )

    def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = environment.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)

    def error_page(status_code: int, title: str, message: str) -> HTMLResponse:
        return page("error.html", status_code, title=title, message=message)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def error(request: Request, status_code: int, title: str, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=status_code)
        return error_page(status_code, title, message)

    # Route handlers. Sync ones run in Starlette's thread pool, so a slow backend (SageMaker)
    # does not block the event loop; the inventories are safe to share between threads.

    def groups_page(request: Request) -> Response:
        filters = _filters(request)
        return page("groups.html", filters=filters, **_groups(inventory, filters))

    def groups_api(request: Request) -> Response:
        filters = _filters(request)
        return JSONResponse([s.to_dict() for s in _groups(inventory, filters)["groups"]])

    def group_records(group: str) -> list[VersionRecord]:
        records = inventory.list_versions(group=group)
        if not records:
            raise NotFoundError(f"group {group!r} is not in the {inventory.name} inventory")
        return records

    def with_differs(records: list[VersionRecord]) -> list[dict[str, Any]]:
        rows = [r.summary() for r in records]
        for row in rows:
            same = {r["sha256"] for r in rows if r["version"] == row["version"]}
            row["regions_disagree"] = len(same) > 1
        return sorted(rows, key=lambda r: (-r["version"], r["region"]))

    def group_page(request: Request) -> Response:
        group = request.path_params["group"]
        rows = with_differs(group_records(group))
        [summary] = [s for s in _summaries(inventory) if s.group == group]
        return page("group.html", summary=summary, rows=rows)

    def group_api(request: Request) -> Response:
        group = request.path_params["group"]
        rows = with_differs(group_records(group))
        [summary] = [s for s in _summaries(inventory) if s.group == group]
        return JSONResponse({**summary.to_dict(), "rows": rows})

    def locate(request: Request) -> tuple[str, int, str | None]:
        """Group, version and region of a version URL; the region is None when not given."""
        group = request.path_params["group"]
        version = int(request.path_params["version"])
        region = request.query_params.get("region", "").strip()
        return group, version, _region(region) if region else None

    def default_region(request: Request, group: str, version: int) -> Response:
        """A version URL without a region redirects to the stable URL of its first region."""
        regions = inventory.regions_of(group, version)
        if not regions:
            raise NotFoundError(f"{group}/{version} is not in the {inventory.name} inventory")
        path = request.url.path
        return RedirectResponse(url(path, region=regions[0]), status_code=307)

    def version_page(request: Request) -> Response:
        group, version, region = locate(request)
        if region is None:
            return default_region(request, group, version)
        context = _version_context(inventory, group, version, region)
        context["payload_download"] = _local_payload(context["record"]) is not None
        return page(
            "version.html",
            csrf_token=csrf_token,
            actor=actor_default,
            decisions=DECISIONS,
            **context,
        )

    def version_api(request: Request) -> Response:
        group, version, region = locate(request)
        if region is None:
            return default_region(request, group, version)
        return JSONResponse(_api_version(_version_context(inventory, group, version, region)))

    def versions_api(request: Request) -> Response:
        region = request.query_params.get("region", "").strip()
        group = request.query_params.get("group", "").strip() or None
        records = inventory.list_versions(region=_region(region) if region else None, group=group)
        return JSONResponse([r.summary() for r in records])

    def payload_file(request: Request) -> Response:
        group, version, region = locate(request)
        if region is None:
            return default_region(request, group, version)
        path = _local_payload(inventory.get_version(region, group, version))
        if path is None:
            raise NotFoundError(f"{group}/{version} in {region} has no local sample payload")
        return FileResponse(path, filename=path.name, headers=SECURITY_HEADERS)

    def same_origin(request: Request) -> bool:
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
        if not allow_writes:
            return error(request, 403, "Read only", "started without --allow-writes")
        form = await request.form()
        token = str(form.get("csrf_token", ""))
        if not hmac.compare_digest(token.encode(), csrf_token.encode()) or not same_origin(request):
            return error(request, 403, "Forbidden", "the form is stale or from another site")
        group, version, region = locate(request)
        decision = str(form.get("decision", ""))
        if region is None or decision not in DECISIONS:
            raise BadInputError("the form needs a region and a decision (approve or reject)")
        actor = str(form.get("actor", "")).strip() or actor_default
        note = str(form.get("note", "")).strip() or None
        if form.get("confirm") != "yes":
            record = await run_in_threadpool(inventory.get_version, region, group, version)
            return page(
                "confirm.html",
                record=record,
                decision=decision,
                status=DECISIONS[decision],
                actor=actor,
                note=note or "",
                csrf_token=csrf_token,
            )
        await run_in_threadpool(
            inventory.set_approval,
            region,
            group,
            version,
            DECISIONS[decision],
            actor,
            note,
        )
        return RedirectResponse(version_url(group, version, region), status_code=303)

    def favicon(request: Request) -> Response:
        # Browsers ask for /favicon.ico even on JSON responses.
        return RedirectResponse("/static/favicon.svg", status_code=301)

    async def on_not_found(request: Request, exc: Exception) -> Response:
        return error(request, 404, "Not found", str(exc))

    async def on_bad_input(request: Request, exc: Exception) -> Response:
        return error(request, 400, "Bad request", str(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(request, exc.status_code, "Error", str(exc.detail))

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Never the exception text: it may hold paths, SQL or credentials. uvicorn logs the trace.
        return error(request, 500, "Server error", "something went wrong on the server")

    version_path = "/groups/{group}/versions/{version:int}"
    routes = [
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
        Mount("/static", StaticFiles(packages=[("mimsreg.ui", "static")]), name="static"),
    ]
    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            NotFoundError: on_not_found,
            BadInputError: on_bad_input,
            HTTPException: on_http,
            Exception: on_crash,
        },
    )
