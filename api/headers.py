"""Security headers on every response: no framing, a strict Content-Security-Policy, no MIME sniffing, a
same-origin referrer, and in production HSTS. The web chat (``/chat``) alone may be framed, by the sites in
``HOTLINE_WEB_FRAME_ANCESTORS`` (centres' websites); it has the same policy otherwise.

The console serves only its own script and stylesheet (``/console/static``) and no inline code or style, so the
policy allows nothing but this origin. The API documentation pages (``/docs``, ``/redoc``, only when enabled) load
FastAPI's Swagger UI and ReDoc from their CDN with an inline bootstrap script: they alone get a policy that allows
that, still without framing.

``api.app.create_app`` puts this middleware outside everything else, Starlette's error middleware included, so
that a 500 page carries the headers too.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
            "https://cdn.redoc.ly; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'")
CHAT_PREFIX = "/chat"  # the web chat page, which centres' websites may frame


def chat_csp(frame_ancestors: str) -> str:
    """The web chat's policy: this origin only, like the console's, but framable by ``frame_ancestors``."""
    return CSP.replace("frame-ancestors 'none'", f"frame-ancestors {frame_ancestors}")


HSTS = "max-age=31536000; includeSubDomains"
COMMON = (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
          ("Cross-Origin-Opener-Policy", "same-origin"),
          ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"))


class SecurityHeaders:
    """ASGI middleware adding the headers to every HTTP response (overriding any the app set)."""

    def __init__(self, app: ASGIApp, *, production: bool, docs_paths: frozenset[str] = frozenset(),
                 chat_frame_ancestors: str = "'none'") -> None:
        self.app = app
        self.production = production
        self.docs_paths = docs_paths
        self.chat_csp = chat_csp(chat_frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path") or ""
        chat = path == CHAT_PREFIX or path.startswith(CHAT_PREFIX + "/")
        csp = DOCS_CSP if path in self.docs_paths else self.chat_csp if chat else CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = csp
                for name, value in COMMON:
                    if not (chat and name == "X-Frame-Options"):  # no allow-list there: the CSP decides
                        headers[name] = value
                if self.production:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
