"""Companies and the owners' chats linked to them. Services flush; callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.companies.models import Company, OwnerChat
from api.db import utcnow
from api.tickets.models import Ticket

MAX_COMPANY_NAME = 200
MAX_DISPLAY_NAME = 200


@dataclass(frozen=True)
class Place:
    """Where the factory is and which centre serves it (from ``api.centers.service.route_or_raise``)."""

    address: str
    sido: str | None
    sigungu: str | None
    center_id: int


async def get_owner_chat(session: AsyncSession, chat_id: int) -> OwnerChat | None:
    return await session.get(OwnerChat, chat_id)


async def link_chat(session: AsyncSession, *, chat_id: int, company_id: int | None,
                    display_name: str | None = None, now: datetime | None = None) -> OwnerChat:
    """Create or update the owner's chat and point it at ``company_id`` (when given)."""
    now = now or utcnow()
    chat = await session.get(OwnerChat, chat_id)
    if chat is None:
        chat = OwnerChat(chat_id=chat_id, company_id=company_id, display_name=(display_name or "")[:MAX_DISPLAY_NAME],
                         created_at=now, updated_at=now)
        try:
            async with session.begin_nested():
                session.add(chat)
        except IntegrityError:  # another request created it meanwhile
            chat = await session.get(OwnerChat, chat_id, populate_existing=True)
            if chat is None:
                raise
        else:
            return chat
    if company_id is not None:
        chat.company_id = company_id
    if display_name:
        chat.display_name = display_name[:MAX_DISPLAY_NAME]
    chat.updated_at = now
    await session.flush()
    return chat


async def upsert_company(session: AsyncSession, *, chat_id: int, place: Place, name: str | None = None,
                         business_number: str | None = None, now: datetime | None = None) -> Company:
    """The company this ticket is about, created or updated, with the owner's chat linked to it.

    With a (normalised, validated) business number the company is found by it; without one, the company the
    chat is already linked to is used, or a new company without a number is created. The latest address,
    region, centre and (when given) name are kept.
    """
    now = now or utcnow()
    name = (name or "").strip()[:MAX_COMPANY_NAME]
    company: Company | None = None
    chat = await session.get(OwnerChat, chat_id)
    chat_company = await session.get(Company, chat.company_id) if chat and chat.company_id else None
    if business_number:
        company = await session.scalar(select(Company).where(Company.business_number == business_number))
        if company is None and chat_company is not None and chat_company.business_number is None:
            # The chat's company, known so far without a number, now gives it.
            company = chat_company
            company.business_number = business_number
    else:
        company = chat_company
    if company is None:
        company = Company(business_number=business_number or None, name=name, address=place.address,
                          region_sido=place.sido, region_sigungu=place.sigungu, center_id=place.center_id,
                          created_at=now, updated_at=now)
        try:
            async with session.begin_nested():
                session.add(company)
        except IntegrityError:  # the same business number registered concurrently
            company = await session.scalar(select(Company).where(Company.business_number == business_number))
            if company is None:
                raise
        else:
            await link_chat(session, chat_id=chat_id, company_id=company.id, now=now)
            return company
    if name:
        company.name = name
    company.address = place.address
    company.region_sido = place.sido
    company.region_sigungu = place.sigungu
    company.center_id = place.center_id
    company.updated_at = now
    await session.flush()
    await link_chat(session, chat_id=chat_id, company_id=company.id, now=now)
    return company


async def get_company(session: AsyncSession, company_id: int) -> Company | None:
    return await session.get(Company, company_id)


async def forget_stale(session: AsyncSession, *, untouched_since: datetime) -> dict[str, int]:
    """Retention: owner chats' display names, and companies' names, business numbers and addresses (their region
    and centre stay for the statistics), untouched since ``untouched_since`` and with no ticket that still keeps
    personal data."""
    live_ticket = select(Ticket.id).where(Ticket.anonymised_at.is_(None))
    chats = await session.execute(
        update(OwnerChat).where(OwnerChat.updated_at < untouched_since, OwnerChat.display_name != "",
                                ~live_ticket.where(Ticket.chat_id == OwnerChat.chat_id).exists())
        .values(display_name="").execution_options(synchronize_session=False))
    companies = await session.execute(
        update(Company).where(Company.updated_at < untouched_since,
                              (Company.name != "") | (Company.address != "") | Company.business_number.is_not(None),
                              ~live_ticket.where(Ticket.company_id == Company.id).exists())
        .values(name="", address="", business_number=None).execution_options(synchronize_session=False))
    return {"owner_chats": chats.rowcount, "companies": companies.rowcount}

