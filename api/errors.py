"""One typed error hierarchy for the service and the one handler per error type that renders it.

Services raise these; the handler turns them into ``{"error": <code>, "detail": <Korean message>}``.
Request validation errors stay FastAPI's 422, with the same envelope plus the field errors.

Pages for people: a part of the site served to browsers (the staff console under ``/console``) registers an
error page renderer for its path prefix with :func:`register_error_page`. Every handler below builds the same
:class:`ErrorReply` and :func:`error_response` sends it either to that renderer (HTML) or as the JSON envelope,
so the API's JSON is the same whatever a browser page does with the error.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

_log = logging.getLogger(__name__)


class HotlineError(Exception):
    status_code = 400
    code = "bad_request"
    detail = "요청을 처리할 수 없습니다."

    def __init__(self, detail: str | None = None, *, code: str | None = None, extra: dict[str, Any] | None = None):
        self.detail = detail or self.detail
        self.code = code or self.code
        self.extra = extra or {}
        super().__init__(self.detail)

    def to_body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class BadRequest(HotlineError):
    status_code = 400
    code = "bad_request"


class Unauthorized(HotlineError):
    status_code = 401
    code = "unauthorized"
    detail = "인증이 필요합니다. 다시 로그인해 주세요."


class Forbidden(HotlineError):
    status_code = 403
    code = "forbidden"
    detail = "이 작업을 할 권한이 없습니다."


class NotFound(HotlineError):
    status_code = 404
    code = "not_found"
    detail = "요청한 항목을 찾을 수 없습니다."


class Conflict(HotlineError):
    status_code = 409
    code = "conflict"
    detail = "다른 요청과 충돌했습니다. 새로 고친 뒤 다시 시도해 주세요."


class PayloadTooLarge(HotlineError):
    status_code = 413
    code = "payload_too_large"
    detail = "요청 내용이 너무 큽니다."


class Unprocessable(HotlineError):
    status_code = 422
    code = "unprocessable"
    detail = "입력 내용을 처리할 수 없습니다."


class TooManyRequests(HotlineError):
    status_code = 429
    code = "rate_limited"
    detail = "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."


class ServiceUnavailable(HotlineError):
    status_code = 503
    code = "unavailable"
    detail = "서비스를 잠시 사용할 수 없습니다. 잠시 후 다시 시도해 주세요."


_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
                 429: "rate_limited"}
_STATUS_DETAILS = {404: "요청한 주소를 찾을 수 없습니다.", 405: "허용되지 않는 요청 방식입니다.",
                   401: "인증이 필요합니다.", 403: "이 작업을 할 권한이 없습니다."}


@dataclass(frozen=True)
class ErrorReply:
    """An error as the API answers it: the status, the JSON envelope, headers worth keeping (``Retry-After``,
    ``Allow``, ``WWW-Authenticate``) and the exception it came from (for a page renderer's own decisions)."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    exc: BaseException | None = None

    @property
    def code(self) -> str:
        return self.body.get("error", "error")

    @property
    def detail(self) -> str:
        return self.body.get("detail", "")


PageRenderer = Callable[[Request, ErrorReply], Awaitable[Response]]
_error_pages: dict[str, PageRenderer] = {}

GENERIC_500_DETAIL = "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해 주세요."


def register_error_page(prefix: str, renderer: PageRenderer) -> None:
    """Answer errors of requests under ``prefix`` (a path like ``/console``) with ``renderer``'s page instead of
    the JSON envelope. One renderer per prefix; registering again replaces it."""
    _error_pages[prefix.rstrip("/")] = renderer


def _renderer_for(path: str) -> tuple[str, PageRenderer] | None:
    for prefix, renderer in _error_pages.items():
        if path == prefix or path.startswith(prefix + "/"):
            return prefix, renderer
    return None


def _json(reply: ErrorReply) -> Response:
    if reply.status_code == 500:
        # What Starlette sends for an unhandled exception: the API's 500 is unchanged (and still a bug).
        return PlainTextResponse("Internal Server Error", status_code=500)
    return JSONResponse(jsonable_encoder(reply.body), status_code=reply.status_code, headers=reply.headers or None)


def _fallback_page(reply: ErrorReply, home: str) -> Response:
    """A bare Korean page for when the registered renderer itself failed: still no JSON, no internals."""
    detail = reply.detail if reply.status_code < 500 or reply.status_code == 503 else GENERIC_500_DETAIL
    text = (f'<!doctype html><html lang="ko"><meta charset="utf-8"><title>오류 · 스마트공장 핫라인</title>'
            f"<p>{html.escape(detail or GENERIC_500_DETAIL)}</p>"
            f'<p><a href="{html.escape(home)}">처음 화면으로</a></p></html>')
    headers = {k: v for k, v in reply.headers.items() if k.lower() in ("retry-after", "allow")}
    return HTMLResponse(text, status_code=reply.status_code, headers=headers or None)


async def error_response(request: Request, reply: ErrorReply) -> Response:
    """The response for ``reply``: the page of the renderer registered for the request's path, else the JSON
    envelope. Usable outside the exception handlers too (e.g. by a middleware that refuses a request)."""
    found = _renderer_for(request.url.path)
    if found is None:
        return _json(reply)
    home, renderer = found
    try:
        return await renderer(request, reply)
    except Exception:  # noqa: BLE001 - the page is a nicety; the error itself must still be answered
        _log.exception("the error page for %s %s failed", request.method, request.url.path)
        return _fallback_page(reply, home)


def hotline_error_reply(exc: HotlineError) -> ErrorReply:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
    if getattr(exc, "retry_after", None):  # e.g. a throttled sign-in: how long to wait
        headers["Retry-After"] = str(exc.retry_after)
    return ErrorReply(exc.status_code, exc.to_body(), headers, exc)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HotlineError)
    async def _hotline_error(request: Request, exc: HotlineError) -> Response:
        return await error_response(request, hotline_error_reply(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        body = {"error": "validation_error", "detail": "입력 형식이 올바르지 않습니다.", "errors": errors}
        return await error_response(request, ErrorReply(422, body, exc=exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        detail = detail or _STATUS_DETAILS.get(exc.status_code, "요청을 처리할 수 없습니다.")
        return await error_response(request, ErrorReply(exc.status_code, {"error": code, "detail": detail},
                                                        dict(getattr(exc, "headers", None) or {}), exc))

    from sqlalchemy.exc import DataError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    async def _database_unavailable(request: Request, exc: Exception) -> Response:
        # The database is unreachable or restarting (or the pool is exhausted, or SQLite stayed locked): a
        # transient state, answered like /readyz; the pool replaces broken connections once it is back.
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        _log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
        return await error_response(request, ErrorReply(
            503, {"error": "database_unavailable",
                  "detail": "데이터베이스에 잠시 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."},
            {"Retry-After": "5"}, exc))

    for exc_class in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(exc_class, _database_unavailable)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> Response:
        # PostgreSQL refused a value (too long for its column, out of an INTEGER's range, ...): the endpoint
        # missed a check that it should make itself; the caller still gets a 422, never a 500.
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        _log.warning("database refused a value on %s %s: %s", request.method, request.url.path, reason)
        return await error_response(request, ErrorReply(
            422, {"error": "unstorable_input",
                  "detail": "입력 값이 너무 길거나 허용 범위를 벗어나 저장할 수 없습니다. 내용을 확인해 주세요."},
            exc=exc))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        # A bug. Starlette's ServerErrorMiddleware calls this for the response, then re-raises the exception so
        # that the server logs it with its traceback; the API's answer stays Starlette's plain 500, a page
        # registered for the path (the console) says something a person can act on, and neither shows internals.
        return await error_response(request, ErrorReply(500, {"error": "internal_error",
                                                               "detail": GENERIC_500_DETAIL}, exc=exc))

    _document_error_responses(app)


# The error envelope as the OpenAPI document describes it (FastAPI's default 422 schema is not what we send).
_ERROR_SCHEMA = {
    "title": "Error", "type": "object", "required": ["error", "detail"],
    "properties": {"error": {"type": "string", "title": "Error code"},
                   "detail": {"type": "string", "title": "Message (Korean)"}},
}
_VALIDATION_ERROR_SCHEMA = {
    "title": "HTTPValidationError", "type": "object", "required": ["error", "detail"],
    "properties": {"error": {"type": "string", "title": "Error code"},
                   "detail": {"type": "string", "title": "Message (Korean)"},
                   "errors": {"type": "array", "title": "Field errors",
                              "items": {"$ref": "#/components/schemas/ValidationError"}}},
}


def _document_error_responses(app: FastAPI) -> None:
    """Make ``/openapi.json`` describe the responses the handlers above really send: the 422 envelope, and
    every operation's 4XX answers (``{"error", "detail"}``)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["Error"] = _ERROR_SCHEMA
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = _VALIDATION_ERROR_SCHEMA
        error_response = {"description": "Error", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["responses"].setdefault("4XX", error_response)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
