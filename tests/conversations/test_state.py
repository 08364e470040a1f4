"""The chat state: typed, versioned, and readable in every stored version."""

from __future__ import annotations

from api.conversations.state import RECENT_ASKS, STATE_VERSION, ChatState, Place


def test_version_1_keeps_the_owners_profile_and_drops_flows_in_progress():
    v1 = {"flow": "escalate", "esc": {"step": "company", "question": "q"}, "asks": [{"id": 9, "text": "q"}],
          "profile": {"address": "경기 화성시 장안면", "region": "경기도 화성시",
                      "center": {"code": "gyeonggi", "name": "경기스마트제조혁신센터"},
                      "company_name": "대흥정밀", "business_number": "1234567891"}}
    state = ChatState.load(v1)
    assert state.escalation is None and state.asks == []
    assert state.profile.place == Place(address="경기 화성시 장안면", region="경기도 화성시", center_code="gyeonggi",
                                        center_name="경기스마트제조혁신센터")
    assert state.profile.business_number == "1234567891"
    assert state.dump()["v"] == STATE_VERSION


def test_an_unreadable_state_starts_afresh():
    assert ChatState.load({"v": 2, "asks": "nonsense"}) == ChatState()
    assert ChatState.load(None) == ChatState()


def test_recent_questions_are_bounded_and_refs_keep_growing():
    state = ChatState()
    for n in range(RECENT_ASKS + 3):
        state.remember(f"질문 {n}")
    assert len(state.asks) == RECENT_ASKS and state.asks[-1].ref == RECENT_ASKS + 3
    assert state.ask(1) is None and state.ask(RECENT_ASKS + 3).text == f"질문 {RECENT_ASKS + 2}"
