"""The 19 regional smart manufacturing innovation centres (스마트제조혁신센터).

Each centre sits in a technopark (테크노파크) of its region and has been the regional base of the
smart factory programme since February-March 2019 (MSS press release 2019-05-07, "MSS-2019-05").
In 2019 the Sejong centre was run by 세종지역산업기획단, which became 세종테크노파크.

``phone`` is filled only where a public source shows the number; everything else is ``None`` and is
completed by administrators in the console (the database copy is authoritative once seeded; see
``api.centers.service.sync_centers``). The numbers present are the smart manufacturing centre's own
desk as printed in a regional newspaper, not the technopark's switchboard; their source and year are
noted next to them.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BUSINESS_HOURS = "평일 09:00~18:00"


@dataclass(frozen=True)
class CenterInfo:
    code: str
    name: str
    host: str
    phone: str | None = None
    business_hours: str = DEFAULT_BUSINESS_HOURS


def _center(code: str, region: str, host: str, phone: str | None = None) -> CenterInfo:
    return CenterInfo(code=code, name=f"{region} 스마트제조혁신센터", host=host, phone=phone)


CENTERS: tuple[CenterInfo, ...] = (
    _center("seoul", "서울", "서울테크노파크"),
    _center("busan", "부산", "부산테크노파크"),
    _center("daegu", "대구", "대구테크노파크"),
    _center("gwangju", "광주", "광주테크노파크"),
    _center("incheon", "인천", "인천테크노파크"),
    _center("daejeon", "대전", "대전테크노파크"),
    _center("ulsan", "울산", "울산테크노파크"),
    _center("sejong", "세종", "세종테크노파크 (2019년 세종지역산업기획단)"),
    _center("gyeonggi", "경기", "경기테크노파크"),
    _center("gangwon", "강원", "강원테크노파크"),
    # ccdn.co.kr/news/articleView.html?idxno=764874 (충청매일, 2022): "충북테크노파크 스마트제조혁신센터(☏043-270-2831)"
    _center("chungbuk", "충북", "충북테크노파크", "043-270-2831"),
    _center("chungnam", "충남", "충남테크노파크"),
    _center("jeonbuk", "전북", "전북테크노파크"),
    _center("jeonnam", "전남", "전남테크노파크"),
    # idaegu.com/newsView/idg201902250043 (대구일보, 2019-02): "경북도 스마트제조혁신센터 (053-819-3055~7)"
    _center("gyeongbuk", "경북", "경북테크노파크", "053-819-3055"),
    _center("gyeongnam", "경남", "경남테크노파크"),
    _center("jeju", "제주", "제주테크노파크"),
    _center("gyeonggi-daejin", "경기대진", "경기대진테크노파크"),
    _center("pohang", "포항", "포항테크노파크"),
)

CENTERS_BY_CODE: dict[str, CenterInfo] = {c.code: c for c in CENTERS}
CENTER_CODES: tuple[str, ...] = tuple(c.code for c in CENTERS)


def get_center(code: str) -> CenterInfo:
    """The built-in record for ``code``; raises ``KeyError`` for an unknown code."""
    return CENTERS_BY_CODE[code]
