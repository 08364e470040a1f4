"""Built-in data loaded by ``hotline init``: the centres and the knowledge base (``knowledge/``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.service import sync_centers


async def seed(session: AsyncSession) -> list[str]:
    report = []
    centers = await sync_centers(session)
    report.append(f"centres: {centers['added']} added, {centers['updated']} updated")
    report.extend(await seed_knowledge(session))
    return report


async def seed_knowledge(session: AsyncSession) -> list[str]:
    """Import ``knowledge/entries`` and ``knowledge/synonyms.yaml`` (``hotline kb import`` without --force).

    Files with errors do not stop ``init``: nothing of the KB is imported and the report says why."""
    from api.kb.sync import ImportRefused, import_knowledge
    from knowledge.loader import DEFAULT_ENTRIES_DIR

    if not DEFAULT_ENTRIES_DIR.is_dir():
        return [f"knowledge: no entries directory ({DEFAULT_ENTRIES_DIR}), nothing imported"]
    try:
        report = await import_knowledge(session)
    except ImportRefused as exc:
        return [f"knowledge: NOT imported, {len(exc.problems)} problem(s) in the files "
                "(run `hotline kb check`):", *(f"  {p}" for p in exc.problems[:10])]
    return report.lines()


async def seed_centres_only(session: AsyncSession) -> None:
    """The minimum every database needs (used by the test fixtures)."""
    await sync_centers(session)
