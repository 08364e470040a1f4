from __future__ import annotations

import logging

import pytest

from api.logging import NON_PROPAGATING_LOGGERS, shared_filter


@pytest.fixture(autouse=True)
def _no_masking_left_behind():
    """The app's lifespan and these tests attach the masking filter to the root logger's handlers, which include
    pytest's own capture handlers: take it off again so other test modules see their records unchanged."""
    yield
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in NON_PROPAGATING_LOGGERS]
    handlers = [h for logger in loggers for h in logger.handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        handler.removeFilter(shared_filter())
