from __future__ import annotations

from datetime import time

from pydantic import BaseModel, Field

from api.centers.contact import format_contact


class CenterOut(BaseModel):
    code: str
    name: str
    host: str
    phone: str | None
    address: str | None
    website: str | None
    office_hours: str | None = Field(description="the centre's own hours for calls and visits, when known")
    business_hours: str = Field(description="the hours the hotline counts for this centre's response times")
    contact: str = Field(description="the known contacts as owners read them; empty when none is known")

    @classmethod
    def of(cls, center) -> "CenterOut":
        return cls(code=center.code, name=center.name, host=center.host, phone=center.phone, address=center.address,
                   website=center.website, office_hours=center.office_hours,
                   business_hours=business_hours_text(center.opens, center.closes), contact=format_contact(center))


class RegionOut(BaseModel):
    sido: str
    sigungu: str | None


class RouteOut(BaseModel):
    center: CenterOut
    region: RegionOut


class ResolveOut(BaseModel):
    center: CenterOut | None
    region: RegionOut | None
    candidates: list[RouteOut]


def business_hours_text(opens: time, closes: time) -> str:
    return f"평일 {opens:%H:%M}~{closes:%H:%M} (공휴일 제외)"
