"""The staff console at ``/console``: every page router, the static files and a Korean 404 for the rest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.console import routes_admin, routes_auth, routes_dashboard, routes_kb, routes_tickets, routes_unanswered
from api.console.web import STATIC_DIR, ConsoleRoute, error_page

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
AREAS = (routes_auth, routes_tickets, routes_dashboard, routes_kb, routes_unanswered, routes_admin)
for _area in AREAS:
    router.include_router(_area.router)
router.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")


@router.api_route("/console/{rest:path}", methods=["GET", "POST"])
async def not_found(request: Request, rest: str) -> Response:
    return error_page(request, 404, "요청한 페이지를 찾을 수 없습니다. 주소를 확인해 주세요.")
