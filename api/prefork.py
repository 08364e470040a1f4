"""``hotline serve --workers N`` (N > 1): gunicorn with uvicorn workers, forked from a parent that loaded Kiwi.

The parent imports the service, creates the app and loads Kiwi's model (``load_shared_app``), then forks the
workers. They share the model's pages copy-on-write: Kiwi only reads them, so each worker's own (private) memory
stays small, and PSS, not RSS, is the fair figure per worker (RSS counts every shared page in full in every
process). Each worker then runs the app's lifespan as a single ``serve`` process does: its own database engine,
matcher and scheduler. Logging, access log, masking and ``proxy_headers=False`` are those of ``serve``.
"""

from __future__ import annotations

import importlib
from typing import Any

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker as BaseUvicornWorker

# Modules a worker imports in its lifespan or on its first requests, imported by the parent so that their pages
# are shared too.
PRELOAD_MODULES = ("knowledge", "api.kb.cache", "api.kb.asklog", "api.kb.entries", "api.kb.unanswered", "api.tickets.scheduler")


def load_shared_app() -> Any:
    """In the preforking parent, before any worker exists: the app, Kiwi and the modules the workers use.
    Nothing here opens a connection or starts a thread (threads do not survive ``fork``)."""
    from api.app import create_app
    from knowledge import heap, morph

    app = create_app()
    for name in PRELOAD_MODULES:
        importlib.import_module(name)
    morph.get_kiwi()
    heap.freeze_heap()  # the parent's objects stay out of the workers' collections, which would copy their pages
    heap.malloc_trim()
    return app


def _gunicorn_log_config(log_level: str) -> dict[str, Any]:
    """``uvicorn_log_config`` (masking on every handler) with gunicorn's loggers on the same handlers, so that
    the workers' uvicorn loggers (which the uvicorn worker points at gunicorn's handlers) write as ``serve``."""
    from api.logging import uvicorn_log_config

    config = uvicorn_log_config(log_level)
    config["loggers"]["gunicorn.error"] = {"handlers": ["default"], "level": log_level.upper(), "propagate": False}
    config["loggers"]["gunicorn.access"] = {"handlers": ["access"], "level": "INFO", "propagate": False}
    return config


class Prefork(BaseApplication):
    """gunicorn, configured here rather than from a command line or a file."""

    def __init__(self, *, host: str, port: int, workers: int, log_level: str) -> None:
        self.options = {
            "bind": [f"{host}:{port}"],
            "workers": workers,
            "worker_class": "api.prefork.UvicornWorker",
            "preload_app": True,
            "loglevel": log_level,
            "logconfig_dict": _gunicorn_log_config(log_level),
            "keepalive": 5,  # uvicorn's default keep-alive timeout
            # A worker that has not reported for this long is restarted. Its lifespan (the matcher's build, up
            # to minutes with a very large knowledge base) reports nothing, so this is generous.
            "timeout": 600,
            "graceful_timeout": 30,
            "control_socket_disable": True,  # no ~/.gunicorn socket shared by every server on the machine
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return load_shared_app()


class UvicornWorker(BaseUvicornWorker):
    """uvicorn in a gunicorn worker, configured as ``serve`` configures uvicorn."""

    CONFIG_KWARGS = {"loop": "auto", "http": "auto", "proxy_headers": False, "server_header": False}
