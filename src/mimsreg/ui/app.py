"""The Starlette application behind ``mimsreg ui``.

Safe by default: only loopback Host names are answered unless more are allowed (against DNS
rebinding), a token when given is required on every request (:mod:`mimsreg.ui.guard`), every
value is autoescaped (model metadata is user input), nothing is written unless the app was
created with ``allow_writes=True``, the approval form carries a per-process CSRF token and must
come from the same origin, and errors render a generic page without filesystem paths or traces.
The pages and the API are in :mod:`mimsreg.ui.routes`, what they show in :mod:`mimsreg.ui.views`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from mimsreg.engine.inventory.base import Inventory
from mimsreg.errors import BadInputError, NotFoundError
from mimsreg.ui.guard import LOOPBACK_HOSTS, HostGuard, TokenGuard, valid_token
from mimsreg.ui.routes import UiState, error, group_url, routes, url, version_url
from mimsreg.ui.tables import PER_PAGE_CHOICES, human_time
from mimsreg.ui.views import DECISIONS, STATUSES, GroupSummary, registered_by_text

__all__ = ["DECISIONS", "GroupSummary", "create_app"]


async def _on_not_found(request: Request, exc: Exception) -> Response:
    return error(request, 404, "Not found", str(exc))


async def _on_bad_input(request: Request, exc: Exception) -> Response:
    return error(request, 400, "Bad request", str(exc))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(request, exc.status_code, "Error", str(exc.detail))


async def _on_crash(request: Request, exc: Exception) -> Response:
    # Never the exception text: it may hold paths, SQL or credentials. uvicorn logs the trace.
    return error(request, 500, "Server error", "something went wrong on the server")


def _environment(inventory: Inventory, allow_writes: bool) -> Environment:
    environment = Environment(
        loader=PackageLoader("mimsreg.ui", "templates"),
        autoescape=True,  # every template, whatever its name: model metadata is user input
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        url=url,
        group_url=group_url,
        version_url=version_url,
        allow_writes=allow_writes,
        statuses=STATUSES,
        inventory_name=inventory.name,
        per_page_choices=PER_PAGE_CHOICES,
    )
    environment.filters.update(when=human_time, who=registered_by_text)
    return environment


def create_app(
    inventory: Inventory,
    allow_writes: bool = False,
    *,
    allowed_hosts: Sequence[str] | None = None,
    default_actor: str | None = None,
    token: str | None = None,
) -> Starlette:
    """The web app over ``inventory``; it approves or rejects only when ``allow_writes``.

    Host headers answered, against DNS rebinding: the loopback names and ``allowed_hosts``,
    any other gets 400. ``token``: every request must carry it (``Authorization: Bearer``, or
    the cookie a visit with ``?token=`` sets), else 401. ``default_actor`` prefills the approval
    form (default: the OS user).
    """
    from mimsreg.api import current_context

    state = UiState(
        inventory=inventory,
        allow_writes=allow_writes,
        environment=_environment(inventory, allow_writes),
        csrf_token=secrets.token_urlsafe(32),
        actor_default=default_actor or current_context().user,
    )
    static = Mount("/static", StaticFiles(packages=[("mimsreg.ui", "static")]), name="static")
    all_routes: list[BaseRoute] = [*routes(), static]
    hosts = [*LOOPBACK_HOSTS, *(allowed_hosts or ())]
    # The Host check first: a rebound page learns nothing, not even whether a token is needed.
    middleware = [Middleware(HostGuard, allowed_hosts=hosts)]
    if token is not None:
        middleware.append(Middleware(TokenGuard, token=valid_token(token, "token")))
    app = Starlette(
        routes=all_routes,
        middleware=middleware,
        exception_handlers={
            NotFoundError: _on_not_found,
            BadInputError: _on_bad_input,
            HTTPException: _on_http,
            Exception: _on_crash,
        },
    )
    app.state.ui = state
    return app
