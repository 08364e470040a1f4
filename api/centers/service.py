"""Centres: seeding from the built-in list, lookups by code or Korean name, settings changes with their audit
event, and address routing on top of ``routing.resolve``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers import routing
from api.centers.contact import HasContacts, routing_note
from api.centers.data import CENTERS, CONTACT_FIELDS, code_for, valid_codes_text
from api.centers.models import Center, CenterEvent
from api.errors import Conflict, NotFound, Unprocessable
from api.staff.models import Staff

MAX_ADDRESS_LENGTH = 300


class UnroutableAddress(Unprocessable):
    code = "unroutable_address"
    detail = ("입력하신 주소로 담당 센터를 찾지 못했습니다. 공장이 있는 시·군·구를 함께 적어 주세요. "
              "(예: 경기 포천시, 경북 포항시 남구)")


class AmbiguousAddress(Unprocessable):
    code = "ambiguous_address"
    detail = "같은 이름의 지역이 여러 곳입니다. 시·도를 함께 적어 주세요. (예: 강원 고성군, 경남 고성군)"


@dataclass(frozen=True)
class Routed:
    center: Center
    region: routing.Region


@dataclass(frozen=True)
class Resolved:
    routed: Routed | None
    candidates: list[Routed]


async def sync_centers(session: AsyncSession) -> dict[str, int]:
    """Insert missing centres and refresh names from the built-in list; a contact is filled from it only while the
    database has none (what admins entered is kept)."""
    existing = {c.code: c for c in (await session.scalars(select(Center))).all()}
    added = updated = 0
    for info in CENTERS:
        center = existing.get(info.code)
        if center is None:
            session.add(Center(code=info.code, name=info.name, host=info.host,
                               **{f: getattr(info, f) for f in CONTACT_FIELDS}))
            added += 1
            continue
        changed = False
        for field in ("name", "host"):
            if getattr(center, field) != getattr(info, field):
                setattr(center, field, getattr(info, field))
                changed = True
        for field in CONTACT_FIELDS:
            if getattr(center, field) is None and getattr(info, field):
                setattr(center, field, getattr(info, field))
                changed = True
        updated += changed
    await session.flush()
    return {"added": added, "updated": updated}


async def list_centers(session: AsyncSession) -> list[Center]:
    order = {info.code: i for i, info in enumerate(CENTERS)}
    centers = (await session.scalars(select(Center))).all()
    return sorted(centers, key=lambda c: (order.get(c.code, len(order)), c.code))


class UnknownCenter(NotFound):
    code = "unknown_center"

    def __init__(self, given: str) -> None:
        super().__init__(f"'{given}' 센터를 찾을 수 없습니다. 센터 코드나 지역 이름으로 입력해 주세요: {valid_codes_text()}")


async def get_center_by_code(session: AsyncSession, code: str) -> Center:
    """The centre named by its code or its Korean name (``gyeonggi``, ``경기``, ``경기대진``, ``포항``); 404 listing
    the valid codes otherwise."""
    known = code_for(code or "")
    center = await session.scalar(select(Center).where(Center.code == known)) if known else None
    if center is None:
        raise UnknownCenter(code)
    return center


# -- settings -----------------------------------------------------------------------------------------------

MAX_LENGTHS = {"phone": 30, "address": 200, "website": 300, "office_hours": 100}
SETTING_LABELS = {"phone": "전화", "address": "주소", "website": "누리집", "office_hours": "운영 시간",
                  "opens": "업무 시작", "closes": "업무 종료", "telegram_chat_id": "텔레그램 직원 그룹"}


def _clean_contact(field: str, value: str | None) -> str | None:
    value = " ".join((value or "").split()) or None
    if value is not None and len(value) > MAX_LENGTHS[field]:
        raise Unprocessable(f"{SETTING_LABELS[field]}은(는) {MAX_LENGTHS[field]}자 이내로 입력해 주세요.")
    if field == "website" and value is not None and not value.lower().startswith(("http://", "https://")):
        value = "https://" + value
    return value


def _plain(value: Any) -> Any:
    return value.strftime("%H:%M") if isinstance(value, time) else value


async def update_center(session: AsyncSession, *, center: Center, actor: Staff, phone: str | None,
                        address: str | None, website: str | None, office_hours: str | None, opens: time,
                        closes: time, telegram_chat_id: int | None) -> dict[str, list]:
    """An admin's change to a centre's contacts, hours and staff group; every changed field goes into one
    ``center_events`` row (before and after). Returns the changes (``{}`` when nothing changed)."""
    if not opens < closes:
        raise Unprocessable("업무 시작 시각은 종료 시각보다 빨라야 합니다.")
    if telegram_chat_id is not None:
        other = await session.scalar(select(Center).where(Center.telegram_chat_id == telegram_chat_id,
                                                          Center.id != center.id))
        if other is not None:
            raise Conflict(f"이 텔레그램 그룹은 이미 {other.name}에 연결되어 있습니다.")
    wanted = {"phone": _clean_contact("phone", phone), "address": _clean_contact("address", address),
              "website": _clean_contact("website", website),
              "office_hours": _clean_contact("office_hours", office_hours), "opens": opens, "closes": closes,
              "telegram_chat_id": telegram_chat_id}
    changes = {f: [_plain(getattr(center, f)), _plain(v)] for f, v in wanted.items() if getattr(center, f) != v}
    if changes:
        for field in changes:
            setattr(center, field, wanted[field])
        session.add(CenterEvent(center_id=center.id, action="updated", actor_id=actor.id,
                                actor_label=actor.display_name or actor.username, detail=changes))
        await session.flush()
    return changes


async def center_events(session: AsyncSession, center_id: int, *, limit: int = 50) -> list[CenterEvent]:
    """The centre's settings changes, newest first."""
    return list((await session.scalars(select(CenterEvent).where(CenterEvent.center_id == center_id)
                                       .order_by(CenterEvent.id.desc()).limit(limit))).all())


async def resolve_address(session: AsyncSession, address: str) -> Resolved:
    """Route an address to a centre; ambiguous names come back as candidates, never guessed."""
    address = (address or "").strip()
    if not address:
        raise UnroutableAddress("주소를 입력해 주세요. 공장이 있는 시·군·구면 충분합니다. (예: 경기 포천시)")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise Unprocessable(f"주소는 {MAX_ADDRESS_LENGTH}자 이내로 입력해 주세요.", code="address_too_long")
    result = routing.resolve(address)
    by_code = {c.code: c for c in (await session.scalars(select(Center))).all()}

    def routed(route: routing.Route) -> Routed:
        return Routed(center=by_code[route.center_code], region=route.region)

    if result.route is not None:
        return Resolved(routed=routed(result.route), candidates=[])
    if result.candidates:
        return Resolved(routed=None, candidates=[routed(r) for r in result.candidates])
    raise UnroutableAddress()


async def route_or_raise(session: AsyncSession, address: str) -> Routed:
    """For creating tickets: exactly one centre, or a 422 that says why not."""
    resolved = await resolve_address(session, address)
    if resolved.routed is None:
        names = ", ".join(f"{c.region.sido} {c.region.sigungu or ''}".strip() for c in resolved.candidates)
        raise AmbiguousAddress(extra={"candidates": names.split(", ")})
    return resolved.routed


def routes_named(question: str) -> list[routing.Route]:
    """The centres serving the place a question names: one when the place is clear, up to three when the name
    fits several regions; none when it names no place."""
    result = routing.resolve(question[:MAX_ADDRESS_LENGTH])
    return [result.route] if result.route is not None else list(result.candidates)[:3]


def routing_note_for(question: str, centres: Mapping[str, HasContacts]) -> str:
    """For an answer about centres: which centre serves the place the question names, with its contacts
    (``api.centers.contact.routing_note``); ``""`` when the question names no place that routes. ``centres``: by
    code."""
    return routing_note([(" ".join(p for p in (r.region.sido, r.region.sigungu) if p), centres[r.center_code])
                         for r in routes_named(question) if r.center_code in centres])


async def routing_answer(session: AsyncSession, question: str) -> str:
    """``routing_note_for`` with the centres read from the database."""
    codes = [r.center_code for r in routes_named(question)]
    if not codes:
        return ""
    centres = {c.code: c for c in (await session.scalars(select(Center).where(Center.code.in_(codes)))).all()}
    return routing_note_for(question, centres)
