from __future__ import annotations

import pytest

from api.conversations.runner import Knowledge
from api.kb.entries import kst_today
from knowledge.loader import load_entries, load_synonyms
from knowledge.matcher import Matcher


@pytest.fixture(scope="session")
def real_matcher() -> Matcher:
    """The matcher over the project's own knowledge base (built once: Kiwi takes seconds to load)."""
    return Matcher(load_entries(), load_synonyms())


@pytest.fixture
def knowledge(real_matcher) -> Knowledge:
    return Knowledge(matcher=real_matcher, today=kst_today())
