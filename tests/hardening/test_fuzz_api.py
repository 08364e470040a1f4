"""Schema-driven fuzzing: every operation of ``/openapi.json``, called in-process by schemathesis with generated
valid (positive) and invalid (negative) input as an anonymous caller, the bot (service token) and an admin.

No answer may be a 5xx, and every answer must match the document (status code, content type, body schema).
The app runs with its lifespan (engine, matcher warm-up) on a database of its own, seeded with a synthetic
knowledge base, staff and tickets, so that the ids the fuzzer draws (small integers first) hit real rows.

The examples per operation are few (the whole file stays well under a minute); the generation is random, so
over many runs it covers more. A failure prints the seed and a curl command that reproduces it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from api.app import create_app
from api.db import make_engine, make_sessionmaker
from tests import dbutil
from tests.conftest import SERVICE_TOKEN, bearer_for, make_settings

EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 2}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLERS = ("anonymous", "service", "admin")


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation (the document does not depend on the database)."""
    document = create_app(make_settings("sqlite://")).openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")]


OPERATIONS = _operations()


def _in_a_thread(coro_factory):
    """Run a coroutine on an event loop of its own (the test session's loop must not be touched)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


async def _seed(url: str, kb_dir: Path) -> dict[str, dict[str, str]]:
    from api.kb.sync import import_knowledge
    from api.staff.service import create_staff
    from api.tickets.owner_actions import create_ticket
    from api.tickets.staff_actions import resolve_ticket

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            await import_knowledge(session, entries_dir=kb_dir)
            admin = await create_staff(session, username="fuzz-admin", password="password-123", role="admin")
            agent = await create_staff(session, username="fuzz-agent", password="password-123", role="agent",
                                       center_code="seoul")
            for chat_id, address in ((1, "서울 금천구"), (2, "부산 사하구"), (3, "서울 강남구")):
                await create_ticket(session, chat_id=chat_id, text=f"퍼징용 문의 {chat_id}", address=address,
                                    phone="010-1234-5678", contact_name="홍길동")
            await resolve_ticket(session, staff=agent, ticket_id=1)
            await session.commit()
            return {"anonymous": {}, "service": {"Authorization": f"Bearer {SERVICE_TOKEN}"},
                    "admin": bearer_for(admin)}
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def fuzz_target(template_url, tmp_path_factory):
    """(schema, headers per caller): the app on its own seeded database, its lifespan running in
    schemathesis' ASGI thread."""
    from schemathesis.python.asgi import shutdown_lifespans
    from tests.kb.helpers import write_kb

    url = dbutil.copy_database(template_url)
    try:
        kb_dir = write_kb(tmp_path_factory.mktemp("fuzz-kb") / "kb")
        headers = _in_a_thread(lambda: _seed(url, kb_dir))
        app = create_app(make_settings(url, ask_rate_per_minute=10_000))
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        yield schema, headers
    finally:
        try:
            shutdown_lifespans()  # disposes the app's engine before the database goes
        finally:
            dbutil.drop_database(url)


def _fuzz(schema, method: str, path: str, headers: dict[str, str], mode: GenerationMode) -> None:
    operation = schema[path][method]

    @hypothesis.settings(max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=False,
                         suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        case.call_and_validate(headers=dict(headers), checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # Nothing to make invalid (no parameters, no body): the positive run covers the operation.


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_never_fails_and_matches_its_schema(fuzz_target, method, path, caller):
    schema, headers = fuzz_target
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        _fuzz(schema, method, path, headers[caller], mode)


def test_the_document_describes_the_error_envelope(fuzz_target):
    schema, _ = fuzz_target
    document = schema.raw_schema
    validation = document["components"]["schemas"]["HTTPValidationError"]
    assert validation["properties"]["detail"]["type"] == "string"
    assert set(validation["required"]) == {"error", "detail"}
    operations = [op for item in document["paths"].values() for op in item.values() if isinstance(op, dict)]
    assert operations and all("4XX" in op["responses"] for op in operations)
