"""A small synthetic knowledge base for the KB tests (independent of knowledge/entries, which keeps changing)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import yaml

from knowledge.loader import Entry, dump_entries

SOURCE = ("중소벤처기업부 스마트공장 보급·확산 사업 공고", "https://www.mss.go.kr/site/smba/main.do")


def entry(id: str, topic: str, title: str, paraphrases: list[str], answer: str, *, keywords: list[str] = (),
          year: int = 2025, valid_from: dt.date | None = dt.date(2019, 1, 1), valid_to: dt.date | None = None) -> Entry:
    return Entry(id=id, topic=topic, title=title, paraphrases=tuple(paraphrases), keywords=tuple(keywords),
                 answer=answer, source_title=SOURCE[0], source_url=SOURCE[1], year=year, valid_from=valid_from,
                 valid_to=valid_to)


def sample_entries() -> list[Entry]:
    return [
        entry("ratio-government", "support-ratio", "정부지원 비율은 얼마인가요?",
              ["정부에서 몇 프로 지원해 줘요", "국비 비율 얼마임", "정부 지원금 비율 알려주세요", "국비 지원 몇퍼센트",
               "보조금 비율이 어떻게 돼요", "정부가 얼마나 내줘요", "지원비율 궁금해요", "정부 부담 비율",
               "국비는 사업비의 몇 퍼센트", "정부 돈 얼마나 나와요"],
              "2025년 공고 기준으로 총사업비의 50% 이내를 정부가 지원해요. 해마다 달라질 수 있으니 올해 공고를 확인해 주세요.",
              keywords=["지원비율", "국비", "정부지원금"]),
        entry("share-company", "company-share", "기업 자부담은 얼마인가요?",
              ["자부담 몇 프로예요", "기업부담금 비율 알려줘요", "우리 회사가 내는 돈", "자부담금 현금으로 내야 하나요",
               "기업이 부담하는 비용", "자부담 얼마나 돼요", "회사 부담분 얼마", "민간부담금이 뭐예요",
               "자부담 비율 궁금", "기업 분담금"],
              "2025년 공고 기준으로 총사업비의 50% 이상을 도입기업이 부담해요. 현금·현물 비율은 공고문을 확인해 주세요.",
              keywords=["자부담", "기업부담금"]),
        entry("apply-online", "how-to-apply", "어디서 어떻게 신청하나요?",
              ["신청 어디서 해요", "신청 방법 알려주세요", "온라인 신청 사이트", "스마트공장 신청하는 법",
               "접수는 어디로 하나요", "신청서 어디에 내요", "사업 신청 경로", "신청 홈페이지 주소",
               "어떻게 접수해요", "신청 절차가 궁금해요"],
              "스마트공장 사업관리시스템에 회원가입한 뒤 온라인으로 신청해요. 접수 기간은 올해 공고를 확인해 주세요.",
              keywords=["신청", "접수", "사업관리시스템"]),
        entry("schedule-2019", "application-schedule", "2019년 모집 마감일은 언제였나요?",
              ["2019 모집 마감", "재작년 접수 마감일", "2019년 신청 기한", "그 해 모집 일정", "옛날 마감 날짜",
               "2019 접수 언제까지", "이천십구년 마감", "2019년도 모집 기간", "작년 전 모집 마감", "2019 공고 마감"],
              "2019년 모집은 공고에 따라 마감되었어요.", valid_to=dt.date(2019, 12, 31)),
    ]


SYNONYMS = {"스마트공장": ["스공", "스마트팩토리"], "자부담": ["자부담금", "기업부담금"], "국비": ["나랏돈"]}


def write_kb(root: Path, entries: list[Entry] | None = None, synonyms: dict | None = None) -> Path:
    """``root/entries/*.yaml`` and ``root/synonyms.yaml``; returns the entries directory."""
    entries_dir = root / "entries"
    if entries_dir.exists():
        for p in entries_dir.glob("*.yaml"):
            p.unlink()
    dump_entries(entries if entries is not None else sample_entries(), entries_dir)
    (root / "synonyms.yaml").write_text(
        yaml.safe_dump(synonyms if synonyms is not None else SYNONYMS, allow_unicode=True), encoding="utf-8")
    return entries_dir


def changed(e: Entry, **fields) -> Entry:
    return replace(e, **fields)
