"""An in-memory ``Context`` for the conversation engine's unit tests: scripted knowledge base answers, routing
and tickets, so each rule is tested without a database or HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from api.conversations import engine
from api.conversations.model import (AnswerView, CandidateView, Incoming, MatchView, Press, Routing, Text, TicketView,
                                     typed)
from api.conversations.state import AskMemo, ChatState, Place

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)  # a Monday, 11:00 in Korea

RATIO = AnswerView(entry_id="support-ratio-government", topic="support-ratio", title="정부지원 비율은 얼마인가요?",
                   text="정부지원은 총사업비의 50% 이내예요.", year=2026, source_title="2026년 통합공고",
                   source_url="https://www.smart-factory.kr/notice/1")
AS = AnswerView(entry_id="as-support-eligibility", topic="as-support", title="AS 지원은 누가 받나요?",
                text="스마트공장 구축 기업이 AS를 받을 수 있어요.", year=2026, source_title="공고",
                source_url="https://www.smart-factory.kr/notice/2")
HWASEONG = Place(address="경기 화성시", region="경기도 화성시", center_code="gyeonggi", center_name="경기스마트제조혁신센터")
POHANG = Place(address="포항", region="경상북도 포항시", center_code="pohang", center_name="포항스마트제조혁신센터")
GOSEONG = (Place(address="강원특별자치도 고성군", region="강원특별자치도 고성군", center_code="gangwon",
                 center_name="강원스마트제조혁신센터"),
           Place(address="경상남도 고성군", region="경상남도 고성군", center_code="gyeongnam", center_name="경남스마트제조혁신센터"))


def answered(answer: AnswerView) -> MatchView:
    return MatchView(kind="question", outcome="answered", answer=answer,
                     candidates=(CandidateView(answer.entry_id, answer.topic, answer.title, 0.9),))


def clarify(*answers: AnswerView) -> MatchView:
    return MatchView(kind="question", outcome="clarify", answer=None,
                     candidates=tuple(CandidateView(a.entry_id, a.topic, a.title, 0.5) for a in answers))


def kind(name: str) -> MatchView:
    return MatchView(kind=name, outcome="escalate", answer=None, candidates=())


UNKNOWN = MatchView(kind="question", outcome="escalate", answer=None, candidates=())


def ticket(*, id: int = 1, number: str = "SF-2026-000001", status: str = "open", responded: datetime | None = None,
           resolved: datetime | None = None, rating: int | None = None, question: str = "세금 문제 문의") -> TicketView:
    return TicketView(id=id, number=number, status=status, center_name="경기스마트제조혁신센터",
                      created_at=datetime(2026, 12, 4, 1, 0, tzinfo=timezone.utc), question=question,
                      responded_at=responded, resolved_at=resolved,
                      promise="오늘 오후 3시까지" if status != "resolved" and responded is None else None, rating=rating)


@dataclass
class FakeContext:
    results: dict[str, MatchView] = field(default_factory=dict)
    entries: dict[str, AnswerView] = field(default_factory=lambda: {RATIO.entry_id: RATIO, AS.entry_id: AS})
    places: dict[str, Routing] = field(default_factory=dict)
    tickets: list[TicketView] = field(default_factory=list)
    max_text_chars: int = 1000
    asked: list[tuple[str, AskMemo | None]] = field(default_factory=list)

    def match(self, text: str, *, previous: AskMemo | None) -> MatchView:
        self.asked.append((text, previous))
        return self.results.get(text, UNKNOWN)

    def entry(self, entry_id: str) -> AnswerView | None:
        return self.entries.get(entry_id)

    def route(self, text: str) -> Routing:
        for name, routing in self.places.items():
            if name in text:
                return routing
        return Routing("unknown")

    def centre_place(self, code: str) -> Place | None:
        return {"gyeongnam": GOSEONG[1].model_copy(update={"address": "경상남도", "region": "경상남도"}),
                "pohang": POHANG}.get(code)

    def routes(self, name: str, place: Place) -> "FakeContext":
        self.places[name] = Routing("routed", place=place, contact="☎ 센터: 031-000-0000")
        return self


def say(text: str) -> Incoming:
    return Incoming(event=typed(text), at=NOW, display_name="김대표")


def press(data: str) -> Incoming:
    return Incoming(event=Press(data), at=NOW, display_name="김대표")


def plain(text: str) -> Incoming:
    """Text, even if it starts with a slash."""
    return Incoming(event=Text(text), at=NOW)


class Chat:
    """A conversation driven step by step, keeping the state and every output."""

    def __init__(self, context: FakeContext | None = None, state: ChatState | None = None):
        self.ctx = context or FakeContext()
        self.state = state or ChatState()
        self.turns = []
        self.log_ids = iter(range(100, 10_000))

    def __call__(self, incoming: Incoming):
        turn = engine.step(self.state, incoming, self.ctx)
        for output in turn.outputs:  # what the runner does: the ask log's id goes to the memo
            if type(output).__name__ == "LogAsk":
                memo = turn.state.ask(output.ref)
                memo.log_id = next(self.log_ids)
        self.state = turn.state
        self.turns.append(turn)
        return turn

    def text(self, message: str):
        return self(say(message))

    def tap(self, label_part: str):
        """Press the button of the last reply whose label contains ``label_part``."""
        for reply in reversed(self.turns[-1].replies):
            for row in reply.buttons:
                for button in row:
                    if label_part in button.text:
                        return self(press(button.data))
        raise AssertionError(f"no button with {label_part!r} in {self.labels()}")

    def labels(self) -> list[str]:
        return [b.text for r in self.turns[-1].replies for row in r.buttons for b in row]

    @property
    def said(self) -> str:
        return "\n---\n".join(r.text for r in self.turns[-1].replies)

    def effects(self, kind: type | None = None) -> list:
        out = [o for o in self.turns[-1].outputs if type(o).__name__ != "Reply"]
        return [o for o in out if kind is None or isinstance(o, kind)]
