"""The staff console at ``/console``: every page router, the static files, a Korean 404 for the rest, and the
console's error pages for every error of a request under /console (registered with api.errors here, once)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.console import routes_admin, routes_auth, routes_dashboard, routes_kb, routes_tickets, routes_unanswered
from api.console.web import (PAGE_NOT_FOUND, STATIC_DIR, ConsoleDB, ConsoleRoute, LoginRequired, current_user,
                             render_error)
from api.errors import NotFound, register_error_page

register_error_page("/console", render_error)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
AREAS = (routes_auth, routes_tickets, routes_dashboard, routes_kb, routes_unanswered, routes_admin)
for _area in AREAS:
    router.include_router(_area.router)
router.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")


@router.api_route("/console/{rest:path}", methods=["GET", "POST"])
async def not_found(request: Request, db: ConsoleDB, rest: str) -> Response:
    if not rest and request.method == "GET":  # "/console/" is the console's home too
        return RedirectResponse("/console/queue", status_code=303)
    try:
        await current_user(request, db)  # a signed-in person gets the page with the menu, to find their way
    except LoginRequired:
        pass
    raise NotFound(PAGE_NOT_FOUND, code="page_not_found")
