"""One typed error hierarchy for the service and the one handler that renders it.

Services raise these; the handler turns them into ``{"error": <code>, "detail": <Korean message>}``.
Request validation errors stay FastAPI's 422, with the same envelope plus the field errors.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HotlineError)
    async def _hotline_error(request: Request, exc: HotlineError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        body = {"error": "validation_error", "detail": "입력 형식이 올바르지 않습니다.", "errors": errors}
        return JSONResponse(jsonable_encoder(body), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
        detail = detail or _STATUS_DETAILS.get(exc.status_code, "요청을 처리할 수 없습니다.")
        return JSONResponse({"error": code, "detail": detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    from sqlalchemy.exc import DataError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # The database is unreachable or restarting (or the pool is exhausted, or SQLite stayed locked): a
        # transient state, answered like /readyz; the pool replaces broken connections once it is back.
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        _log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
        return JSONResponse({"error": "database_unavailable",
                             "detail": "데이터베이스에 잠시 연결할 수 없습니다. 잠시 후 다시 시도해 주세요."},
                            status_code=503, headers={"Retry-After": "5"})

    for exc_class in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(exc_class, _database_unavailable)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL refused a value (too long for its column, out of an INTEGER's range, ...): the endpoint
        # missed a check that it should make itself; the caller still gets a 422, never a 500.
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
        _log.warning("database refused a value on %s %s: %s", request.method, request.url.path, reason)
        return JSONResponse({"error": "unstorable_input",
                             "detail": "입력 값이 너무 길거나 허용 범위를 벗어나 저장할 수 없습니다. 내용을 확인해 주세요."},
                            status_code=422)

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
