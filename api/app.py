"""The FastAPI application factory. The lifespan owns the database engine (one per process)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from functools import partial

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from api.channels.endpoints import knowledge_of
from api.channels.kakao import SkillServer
from api.channels.kakao_events import EventApi, KakaoDeliverer
from api.config import Settings, get_settings
from api.db import is_sqlite, make_engine, make_sessionmaker
from api.errors import install_error_handlers
from api.ratelimits import RateLimits
from api.headers import SecurityHeaders
from api.outbox.delivery import RetryPolicy
from api.tickets.base import policy_from_settings
from api.webchat.router import router as webchat_router


class BodySizeLimit:
    """Refuse request bodies over the configured size before anything reads them (413 with a message)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        seen = 0
        too_large = False

        async def limited_receive():
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        from api.errors import ErrorReply, error_response

        reply = ErrorReply(413, {"error": "payload_too_large",
                                 "detail": f"요청 내용이 너무 큽니다. ({self.max_bytes // 1024}KB 이하로 보내 주세요.)"})
        response = await error_response(Request(scope), reply)  # the JSON envelope, or the console's page
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from api.logging import install_log_masking

        install_log_masking(settings)  # after the server configured logging: mask personal data, hide secrets
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        from api.kb.asklog import AskLogWriter, transaction_scope
        from api.kb.cache import warm_up

        # The ask log has connections of its own: a request holding a pooled connection while it waits for its
        # row to be written must never be what keeps the writer from getting one.
        ask_log_engine = make_engine(settings.database_url,
                                     **({} if is_sqlite(settings.database_url) else {"pool_size": 2, "max_overflow": 0}))
        ask_log_writer = app.state.ask_log_writer = AskLogWriter(transaction_scope(make_sessionmaker(ask_log_engine)))

        await warm_up(app)  # build the question matcher now, so the first question is fast
        scheduler = None
        if settings.run_scheduler:
            from api.tickets.scheduler import start_scheduler, stop_scheduler

            scheduler = start_scheduler(app.state.sessionmaker, settings)
        http = httpx.AsyncClient()  # Kakao: skill callbacks and the Event API
        app.state.kakao_skill = SkillServer(
            sessionmaker=app.state.sessionmaker, knowledge_for=partial(knowledge_of, app),
            policy=policy_from_settings(settings), max_text_chars=settings.max_text_chars,
            answer_seconds=settings.kakao_answer_seconds, limits=app.state.rate_limits, http=http)
        kakao = None
        if settings.kakao_events_enabled:
            kakao = KakaoDeliverer(app.state.sessionmaker, EventApi(
                http, base_url=settings.kakao_api_base_url, rest_key=settings.kakao_rest_key,
                bot_id=settings.kakao_bot_id, event_name=settings.kakao_event_name),
                policy=RetryPolicy.from_settings(settings), interval=settings.kakao_outbox_interval)
            kakao_task = asyncio.create_task(kakao.run())
        try:
            yield
        finally:
            if kakao is not None:
                kakao.stop()
                await kakao_task
            await app.state.kakao_skill.close()
            await http.aclose()
            if scheduler is not None:
                await stop_scheduler(*scheduler)
            await ask_log_writer.close()
            await ask_log_engine.dispose()
            await engine.dispose()

    docs = settings.docs_enabled
    app = FastAPI(title="스마트공장 핫라인 API", version="0.1.0", lifespan=lifespan,
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None)
    app.state.settings = settings
    app.state.rate_limits = RateLimits(redis_url=settings.redis_url, ask_per_minute=settings.ask_rate_per_minute,
                                       chat_messages=settings.chat_rate_limit,
                                       chat_window_seconds=settings.chat_rate_window,
                                       web_session_per_minute=settings.web_session_rate_per_minute,
                                       web_ip_per_minute=settings.web_ip_rate_per_minute)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # The security headers go outside Starlette's own outermost layer (its 500 handling), so that every response
    # has them: the middleware stack Starlette builds is wrapped.
    build_stack = app.build_middleware_stack
    docs_paths = frozenset(("/docs", "/docs/oauth2-redirect", "/redoc")) if docs else frozenset()
    app.build_middleware_stack = lambda: SecurityHeaders(build_stack(), production=settings.env == "production",
                                                         docs_paths=docs_paths,
                                                         chat_frame_ancestors=settings.web_frame_ancestors)

    from api.auth.endpoints import router as auth_router
    from api.centers.endpoints import router as centers_router
    from api.health import router as health_router
    from api.kb.endpoints import router as kb_router
    from api.tickets.endpoints import router as tickets_router
    from api.channels.endpoints import router as channels_router
    from api.channels.web_endpoints import router as web_chat_router
    from api.outbox.endpoints import router as outbox_router
    from api.telegram_staff.endpoints import router as telegram_staff_router

    for router in (health_router, auth_router, centers_router, kb_router, channels_router, web_chat_router,
                   outbox_router, tickets_router, telegram_staff_router):
        app.include_router(router)
    from api.console.router import router as console_router  # the staff console at /console
    app.include_router(console_router)
    app.include_router(webchat_router)  # the web chat at /chat
    return app
