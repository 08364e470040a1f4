"""The 19 regional smart manufacturing innovation centres (스마트제조혁신센터), from ``centers.yaml``.

The file holds each centre's code, Korean region name, host technopark and the contacts a public source shows,
with the source of each value (``sources``). Empty contacts are completed by administrators in the console; the
database copy is authoritative once seeded (``api.centers.service.sync_centers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from types import MappingProxyType
from typing import Mapping

import yaml

CONTACT_FIELDS = ("phone", "address", "website", "office_hours")
CENTER_SUFFIX = " 스마트제조혁신센터"


@dataclass(frozen=True)
class CenterInfo:
    code: str
    region: str  # the Korean short name people use: 경기, 경기대진, 포항
    host: str
    phone: str | None = None
    address: str | None = None
    website: str | None = None
    office_hours: str | None = None
    sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # contact field -> source

    @property
    def name(self) -> str:
        return f"{self.region}{CENTER_SUFFIX}"


def _load() -> tuple[CenterInfo, ...]:
    doc = yaml.safe_load((files("api.centers") / "centers.yaml").read_text(encoding="utf-8"))
    out = []
    for item in doc["centers"]:
        contacts = {f: str(item[f]) for f in CONTACT_FIELDS if item.get(f)}
        sources = MappingProxyType({f: str(s) for f, s in (item.get("sources") or {}).items() if f in contacts})
        missing = set(contacts) - set(sources)
        if missing:
            raise ValueError(f"centers.yaml: {item['code']}: no source for {sorted(missing)}")
        out.append(CenterInfo(code=item["code"], region=item["region"], host=item["host"], sources=sources,
                              **contacts))
    return tuple(out)


CENTERS: tuple[CenterInfo, ...] = _load()
CENTERS_BY_CODE: dict[str, CenterInfo] = {c.code: c for c in CENTERS}
CENTER_CODES: tuple[str, ...] = tuple(c.code for c in CENTERS)


def get_center(code: str) -> CenterInfo:
    """The built-in record for ``code``; raises ``KeyError`` for an unknown code."""
    return CENTERS_BY_CODE[code]


def _key(text: str) -> str:
    return "".join(text.split()).casefold()


def _names() -> dict[str, str]:
    return {_key(name): c.code for c in CENTERS
            for name in (c.code, c.region, c.name, c.host.split(" (")[0], f"{c.region}TP", f"{c.region}센터")}


_NAMES = _names()


def code_for(name: str) -> str | None:
    """The centre code for a code or a Korean name (``gyeonggi``, ``경기``, ``경기대진``, ``포항 스마트제조혁신센터``,
    ``포항테크노파크``, ``포항TP``), spacing and case aside; None when no centre has that name."""
    return _NAMES.get(_key(name or ""))


def valid_codes_text() -> str:
    """Every centre as ``code(지역)``, for messages about an unknown centre."""
    return ", ".join(f"{c.code}({c.region})" for c in CENTERS)
