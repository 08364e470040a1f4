"""The KakaoTalk skill's own rules without HTTP: every response within Kakao's limits whatever the replies, the
request's identity across Kakao's retries, the SkillPayload read."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from api.channels import kakao
from api.contract import Button, OutboxRecord
from tests.channels.fake_kakao import check_limits

labels = st.text(alphabet="가나다라마바사 스마트공장지원금자부담비율1234567890()·", min_size=1, max_size=60)
buttons = st.builds(Button, text=labels, data=st.text(alphabet="abcdefgh:0123456789", min_size=1, max_size=30))
keyboards = st.lists(st.lists(buttons, min_size=1, max_size=4).map(tuple), max_size=6).map(tuple)
texts = st.text(alphabet="가나다라 마바사\n.,0123456789", min_size=1, max_size=3500).filter(lambda t: t.strip())


def message(n: int, text: str, keyboard=()) -> OutboxRecord:
    return OutboxRecord(id=n, channel="kakao", address="u", chat_id=1, text=text, kind="reply", buttons=keyboard)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(texts, keyboards), min_size=1, max_size=5))
def test_every_response_is_within_kakaos_limits(replies):
    body = kakao.render([message(n, t, k) for n, (t, k) in enumerate(replies)], block_id="block-1")
    check_limits(body)
    shown = "".join(o["simpleText"]["text"] for o in body["template"]["outputs"])
    first = replies[0][0].strip()[:50]
    assert first.split("\n")[0].strip() in shown  # the beginning is never lost


def test_long_labels_are_numbered_and_listed_in_full():
    keyboard = ((Button("스마트공장 구축 지원 대상 기업의 조건은 무엇인가요?", "pick:1:0"),),
                (Button("🙋 상담원 연결", "human:1"),))
    body = kakao.render([message(1, "혹시 이 질문이신가요?", keyboard)], block_id="b")
    [output] = body["template"]["outputs"]
    assert "1. 스마트공장 구축 지원 대상 기업의 조건은 무엇인가요?" in output["simpleText"]["text"]
    first, human = body["template"]["quickReplies"]
    assert first["label"].startswith("1. ") and len(first["label"]) <= 14 and first["extra"] == {"data": "pick:1:0"}
    assert first["messageText"] == "스마트공장 구축 지원 대상 기업의 조건은 무엇인가요?"
    assert human == {"label": "🙋 상담원 연결", "messageText": "🙋 상담원 연결", "extra": {"data": "human:1"},
                     "action": "block", "blockId": "b"}


def test_a_retried_request_has_the_same_keys_and_another_does_not():
    base = dict(user_key="u1", bot_id="bot", block_id="b", utterance="자부담 얼마예요")
    at = dt.datetime(2026, 12, 7, 2, 0, 5, tzinfo=dt.timezone.utc)
    first = kakao.Skill(**base).keys(at)
    assert set(first) & set(kakao.Skill(**base).keys(at + dt.timedelta(seconds=9)))  # a retry within the window
    assert not set(first) & set(kakao.Skill(**base).keys(at + dt.timedelta(seconds=25)))
    assert not set(first) & set(kakao.Skill(**{**base, "user_key": "u2"}).keys(at))
    assert not set(first) & set(kakao.Skill(**base, button="fb:up:1").keys(at))


def test_the_skill_payload_is_read_as_kakao_sends_it():
    body = {"userRequest": {"utterance": "5점", "user": {"id": "plusfriend-x", "type": "botUserKey",
                                                          "properties": {"botUserKey": "bu-1"}},
                            "block": {"id": "blk"}, "callbackUrl": "https://bot-api.kakao.com/callback/abc"},
            "action": {"clientExtra": {"data": "rate:7:5"}, "params": {"hotline_message": "42"}},
            "bot": {"id": "bot-9"}}
    skill = kakao.read_skill(body)
    assert (skill.user_key, skill.bot_id, skill.block_id, skill.button, skill.event_message) == (
        "bu-1", "bot-9", "blk", "rate:7:5", 42)
    assert skill.callback_url == "https://bot-api.kakao.com/callback/abc"
    plain = kakao.read_skill({"userRequest": {"utterance": "안녕", "user": {"id": "only-id"}}, "action": {}})
    assert plain.user_key == "only-id" and plain.button is None and plain.event_message is None
