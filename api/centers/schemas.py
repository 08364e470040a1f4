from __future__ import annotations

from datetime import time

from pydantic import BaseModel


class CenterOut(BaseModel):
    code: str
    name: str
    host: str
    phone: str | None
    business_hours: str

    @classmethod
    def of(cls, center) -> "CenterOut":
        return cls(code=center.code, name=center.name, host=center.host, phone=center.phone,
                   business_hours=business_hours_text(center.opens, center.closes))


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
