"""Centres: seeding from the built-in list, lookups, and address routing on top of ``routing.resolve``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers import routing
from api.centers.data import CENTERS
from api.centers.models import Center
from api.errors import NotFound, Unprocessable

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


def center_contact(center: Center) -> str | None:
    """The centre's contact for owners, in one line, or None when nothing is known (never an empty field)."""
    return f"☎ {center.name}: {center.phone}" if center.phone else None


async def sync_centers(session: AsyncSession) -> dict[str, int]:
    """Insert missing centres and refresh names from the built-in list; admin-edited fields are kept."""
    existing = {c.code: c for c in (await session.scalars(select(Center))).all()}
    added = updated = 0
    for info in CENTERS:
        center = existing.get(info.code)
        if center is None:
            session.add(Center(code=info.code, name=info.name, host=info.host, phone=info.phone))
            added += 1
            continue
        changed = False
        for field in ("name", "host"):
            if getattr(center, field) != getattr(info, field):
                setattr(center, field, getattr(info, field))
                changed = True
        if center.phone is None and info.phone:
            center.phone = info.phone
            changed = True
        updated += changed
    await session.flush()
    return {"added": added, "updated": updated}


async def list_centers(session: AsyncSession) -> list[Center]:
    order = {info.code: i for i, info in enumerate(CENTERS)}
    centers = (await session.scalars(select(Center))).all()
    return sorted(centers, key=lambda c: (order.get(c.code, len(order)), c.code))


async def get_center_by_code(session: AsyncSession, code: str) -> Center:
    center = await session.scalar(select(Center).where(Center.code == code))
    if center is None:
        raise NotFound(f"센터 코드 '{code}'를 찾을 수 없습니다.", code="unknown_center")
    return center


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
