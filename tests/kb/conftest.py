from __future__ import annotations

import pytest

from api.kb.sync import import_knowledge
from tests.kb.helpers import write_kb


@pytest.fixture
def kb_dir(tmp_path):
    """The synthetic knowledge base written as files: ``<tmp>/kb/entries`` (+ ``<tmp>/kb/synonyms.yaml``)."""
    return write_kb(tmp_path / "kb")


@pytest.fixture
async def imported(db, kb_dir):
    """The synthetic knowledge base imported into the test's database."""
    report = await import_knowledge(db, entries_dir=kb_dir)
    await db.commit()
    return report


@pytest.fixture
async def admin(db, make_staff):
    """(staff, auth headers) of an admin, committed (an error response rolls back what is not committed)."""
    made = await make_staff("admin", None)
    await db.commit()
    return made
