"""Built-in data loaded by ``hotline init``: the centres (and, once present, the knowledge base)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.service import sync_centers


async def seed(session: AsyncSession) -> list[str]:
    report = []
    centers = await sync_centers(session)
    report.append(f"centres: {centers['added']} added, {centers['updated']} updated")
    return report


async def seed_centres_only(session: AsyncSession) -> None:
    """The minimum every database needs (used by the test fixtures)."""
    await sync_centers(session)
