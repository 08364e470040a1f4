"""The KakaoTalk channel (카카오톡 채널 챗봇): a Kakao i OpenBuilder skill server on the conversation engine.

Kakao's chatbot calls the skill (``POST /api/v1/channels/kakao/skill``) with a SkillPayload for every utterance
and every pressed quick reply; the skill answers with a SkillResponse (version 2.0). Messages that are not an
answer (a staff reply, a notice, a rating request) go out through the Event API (``api.channels.kakao_events``).

Kakao's documented limits, enforced on every response (``render``):

- a skill must answer within 5 seconds ("skill timeout: 5sec"); a block with the callback option gets a one-time
  ``userRequest.callbackUrl``, valid for 1 minute and usable once ("callbackUrl valid time: 1min") — Kakao's AI
  chatbot callback guide, https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/ai_chatbot_callback_guide;
- a SkillTemplate has 1 to 3 outputs and at most 10 quick replies; a simpleText holds at most 1,000 characters;
  a quick reply's label at most 14 characters — the SkillResponse format,
  https://kakaobusiness.gitbook.io/main/tool/chatbot/skill_guide/answer_json_format.

The skill waits ``HOTLINE_KAKAO_ANSWER_SECONDS`` for the engine's answer (well inside the 5 s); past that it
answers with ``useCallback`` when the block offers a callback (the answer is then POSTed to ``callbackUrl``), or
with a short "one moment" text, and the answer follows through the Event API.

**One request, one turn.** The SkillPayload carries no request id (its fields: ``intent``, ``userRequest`` with
``utterance``, ``user``, ``block``, ``params``, ``callbackUrl``; ``bot``; ``action`` with ``params`` and
``clientExtra``), and a request Kakao sends again is the same payload. A request is therefore identified by what
the owner did: the bot, the user, the block, the utterance and the pressed button's data, within
``RETRY_WINDOW_SECONDS``. Each request claims two keys, its window and the next one, so any two identical requests
less than one window apart share a key: the second is answered with the first one's replies and nothing is done
twice. (An owner who sends the very same words twice within that time gets the same answer twice, which is what
they would get anyway.)

**Buttons.** A reply's buttons become quick replies that call the same block (``action: block``) with the button
data in ``extra``; Kakao returns it in ``action.clientExtra``. A label longer than Kakao allows is shortened and
numbered, and the full label is listed in the text.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.contract import KAKAO, OutboxRecord
from api.conversations import runner, texts
from api.conversations.model import Incoming, Press, typed
from api.db import utcnow, write_sessionmaker
from api.outbox.delivery import give_back, hand_over, records
from api.ratelimits import RateLimits
from api.sla import SlaPolicy

log = logging.getLogger(__name__)

# Kakao's limits (see the module's docstring for the sources).
SKILL_TIMEOUT_SECONDS = 5.0
CALLBACK_VALID_SECONDS = 60.0
MAX_OUTPUTS = 3
MAX_QUICK_REPLIES = 10
MAX_SIMPLE_TEXT = 1000
MAX_LABEL = 14

SECRET_HEADER = "X-Hotline-Kakao-Secret"
EVENT_MESSAGE_PARAM = "hotline_message"  # Event API params: the outbox message an event block's skill call shows
RETRY_WINDOW_SECONDS = 10
CALLBACK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Skill:
    """What one skill request says: who (``user_key``: the botUserKey), where (``block_id``), what (the
    utterance, or a pressed button's data), and how to answer late (``callback_url``)."""

    user_key: str
    bot_id: str
    block_id: str | None
    utterance: str
    button: str | None = None
    callback_url: str | None = None
    event_message: int | None = None  # an event block's call to show an outbox message (Event API delivery)

    def keys(self, now: dt.datetime) -> list[str]:
        """The claim keys of this request: a digest of what the owner did, in this window and the next."""
        digest = hashlib.sha256("\x1f".join((self.bot_id, self.user_key, self.block_id or "", self.utterance,
                                             self.button or "")).encode()).hexdigest()[:40]
        window = math.floor(now.timestamp() / RETRY_WINDOW_SECONDS)
        return [f"{digest}:{window}", f"{digest}:{window + 1}"]


def read_skill(body: dict[str, Any]) -> Skill:
    """A validated SkillPayload (``api.channels.schemas.KakaoSkillIn`` dumped) as a ``Skill``."""
    request = body["userRequest"]
    user = request["user"]
    properties = user.get("properties") or {}
    user_key = str(properties.get("botUserKey") or properties.get("bot_user_key") or user["id"])
    extra = (body.get("action") or {}).get("clientExtra")
    button = extra.get("data") if isinstance(extra, dict) and isinstance(extra.get("data"), str) else None
    params = (body.get("action") or {}).get("params") or {}
    event_message = params.get(EVENT_MESSAGE_PARAM)
    event_id = int(event_message) if isinstance(event_message, (str, int)) and str(event_message).isdigit() else None
    block = request.get("block") or {}
    return Skill(user_key=user_key, bot_id=str((body.get("bot") or {}).get("id") or ""),
                 block_id=block.get("id") or (body.get("intent") or {}).get("id"),
                 utterance=request.get("utterance") or "", button=button,
                 callback_url=request.get("callbackUrl") or None, event_message=event_id)


# --- the SkillResponse ---------------------------------------------------------------------------------------------


def _chunks(text: str, limit: int = MAX_SIMPLE_TEXT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut between paragraphs or lines where possible."""
    text = text.strip() or "…"
    out: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit))
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        out.append(text[:cut].rstrip())
        text = text[cut:].strip()
    out.append(text)
    return [c for c in out if c]


def _pack(pieces: list[str]) -> list[str]:
    """At most ``MAX_OUTPUTS`` texts of at most ``MAX_SIMPLE_TEXT`` characters: neighbours are joined while they
    fit; what still does not fit is cut short, saying so."""
    packed: list[str] = []
    for piece in pieces:
        if packed and len(packed[-1]) + 2 + len(piece) <= MAX_SIMPLE_TEXT and len(pieces) > MAX_OUTPUTS:
            packed[-1] = f"{packed[-1]}\n\n{piece}"
        else:
            packed.append(piece)
    if len(packed) > MAX_OUTPUTS:
        rest = "\n\n".join(packed[MAX_OUTPUTS - 1:])
        packed = packed[: MAX_OUTPUTS - 1] + [rest[: MAX_SIMPLE_TEXT - 1].rstrip() + "…"]
    return packed


def _label(text: str, number: int | None) -> str:
    if number is None:
        return text
    prefix = f"{number}. "
    room = MAX_LABEL - len(prefix)
    return prefix + (text if len(text) <= room else text[: room - 1].rstrip() + "…")


def render(messages: Sequence[OutboxRecord], *, block_id: str | None) -> dict[str, Any]:
    """The SkillResponse showing ``messages`` (in order), within Kakao's limits."""
    pieces: list[str] = []
    quick: list[dict[str, Any]] = []
    seen: set[str] = set()
    numbered = 0
    for message in messages:
        links: list[str] = []
        choices: list[str] = []
        for row in message.buttons:
            for button in row:
                if button.url is not None:  # quick replies cannot open links: the link goes in the text
                    links.append(f"🔗 {button.text}: {button.url}")
                    continue
                if button.data in seen or len(quick) >= MAX_QUICK_REPLIES:
                    continue
                seen.add(button.data)
                number = None
                if len(button.text) > MAX_LABEL:
                    numbered += 1
                    number = numbered
                    choices.append(f"{number}. {button.text}")
                reply: dict[str, Any] = {"label": _label(button.text, number), "messageText": button.text,
                                         "extra": {"data": button.data}}
                reply.update({"action": "block", "blockId": block_id} if block_id else {"action": "message"})
                quick.append(reply)
        parts = [message.text]
        if choices:
            parts.append("\n".join([texts.CHOICES_HEAD, *choices]))
        if links:
            parts.append("\n".join(links))
        pieces += _chunks("\n\n".join(parts))
    template: dict[str, Any] = {"outputs": [{"simpleText": {"text": t}} for t in _pack(pieces or ["…"])]}
    if quick:
        template["quickReplies"] = quick
    return {"version": "2.0", "template": template}


def plain(text: str) -> dict[str, Any]:
    """A SkillResponse of one short text."""
    return {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": text}}]}}


def waiting(*, callback: bool) -> dict[str, Any]:
    """The answer when the engine's answer is not ready in time: ``useCallback`` (the block's callback message
    shows ``data.text``), or a short text (the answer follows through the Event API)."""
    if callback:
        return {"version": "2.0", "useCallback": True, "data": {"text": texts.KAKAO_WAIT}}
    return plain(texts.KAKAO_WAIT)


# --- processing ------------------------------------------------------------------------------------------------------


async def take_turn(session: AsyncSession, *, skill: Skill, knowledge: runner.Knowledge, policy: SlaPolicy,
                    max_text_chars: int, limits: RateLimits | None = None,
                    now: dt.datetime | None = None) -> tuple[list[OutboxRecord], bool]:
    """Process one skill request in the caller's transaction: its replies, handed over to the skill's response
    (``give_back`` returns them to the outbox when the response goes without them), and True; or, for a request
    answered before, that answer's replies and False."""
    now = now or utcnow()
    keys = skill.keys(now)
    taken = await runner.claim(session, channel=KAKAO, keys=keys, now=now)
    if len(taken) < len(keys):  # seen within the window: the same answer again
        stored = await runner.stored_replies(session, channel=KAKAO, keys=keys)
        ids = next((ids for key in keys if (ids := stored.get(key))), [])
        if taken:  # the key just claimed answers the same way
            await runner.record_replies(session, channel=KAKAO, processed=runner.Processed(
                replies={key: ids for key in taken}))
        return await records(session, ids=ids), False
    event = Press(skill.button) if skill.button is not None else typed(skill.utterance)
    update = runner.OwnerUpdate(key=keys[0], address=skill.user_key, incoming=Incoming(event=event, at=now))
    processed = await runner.process(session, channel=KAKAO, updates=[update], knowledge=knowledge, policy=policy,
                                     max_text_chars=max_text_chars, limits=limits, now=now)
    ids = processed.outbox_ids
    await runner.record_replies(session, channel=KAKAO, processed=runner.Processed(
        replies={key: ids for key in keys}))
    return await hand_over(session, ids=ids, now=now), True


async def event_message(session: AsyncSession, *, skill: Skill) -> list[OutboxRecord]:
    """The outbox message an event block's skill call shows: only this user's own, only KakaoTalk's."""
    found = await records(session, ids=[skill.event_message] if skill.event_message else [])
    return [m for m in found if m.channel == KAKAO and m.address == skill.user_key]


KnowledgeFor = Callable[[AsyncSession], Awaitable[runner.Knowledge]]


@dataclass
class SkillServer:
    """Answers skill requests within Kakao's time, each in a transaction of its own (an answer that comes late
    keeps going after the response, and reaches the owner by the callback or the Event API)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    knowledge_for: KnowledgeFor
    policy: SlaPolicy
    max_text_chars: int
    answer_seconds: float
    limits: RateLimits | None = None
    http: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        self.writer = write_sessionmaker(self.sessionmaker)
        self.late: set[asyncio.Task] = set()

    async def _turn(self, skill: Skill) -> tuple[list[OutboxRecord], bool]:
        async with self.writer() as session:
            try:
                result = await take_turn(session, skill=skill, knowledge=await self.knowledge_for(session),
                                         policy=self.policy, max_text_chars=self.max_text_chars, limits=self.limits)
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
            return result

    async def _give_back(self, messages: Sequence[OutboxRecord]) -> None:
        if messages:
            async with self.writer() as session:
                await give_back(session, ids=[m.id for m in messages])
                await session.commit()

    async def answer(self, skill: Skill) -> dict[str, Any]:
        """The SkillResponse to one request (Kakao shows an error of its own for anything else, so a failure here
        is said in words)."""
        try:
            if skill.event_message is not None:
                async with self.sessionmaker() as session:
                    messages = await event_message(session, skill=skill)
                return render(messages, block_id=skill.block_id) if messages else plain(texts.STALE_BUTTON)
            work = asyncio.create_task(self._turn(skill))
            messages, fresh = await asyncio.wait_for(asyncio.shield(work), self.answer_seconds)
        except TimeoutError:  # (an OSError too: caught first)
            follow_up = asyncio.create_task(self._answer_late(work, skill))
            self.late.add(follow_up)
            follow_up.add_done_callback(self.late.discard)
            return waiting(callback=skill.callback_url is not None)
        except (SQLAlchemyError, OSError):
            log.exception("kakao: a skill request failed")
            return plain(texts.SOMETHING_WRONG)
        return render(messages, block_id=skill.block_id)

    async def _answer_late(self, work: asyncio.Task, skill: Skill) -> None:
        """After the response: the answer goes to the callback URL; if that is not possible, its messages go
        back to the outbox, for the Event API deliverer."""
        try:
            messages, fresh = await work
        except Exception:
            log.exception("kakao: a late skill answer failed")
            return
        if not fresh:
            return
        if not (skill.callback_url and self.http is not None and await self._callback(skill, messages)):
            await self._give_back(messages)

    async def _callback(self, skill: Skill, messages: list[OutboxRecord]) -> bool:
        try:
            response = await self.http.post(skill.callback_url, json=render(messages, block_id=skill.block_id),
                                            timeout=CALLBACK_TIMEOUT_SECONDS)
            body = response.json() if response.content else {}
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("kakao: callback failed (%s); the answer goes through the Event API", exc)
            return False
        accepted = response.status_code == 200 and str(body.get("status", "SUCCESS")).upper() == "SUCCESS"
        if not accepted:
            log.warning("kakao: callback refused (%s %s); the answer goes through the Event API",
                        response.status_code, body)
        return accepted

    async def close(self) -> None:
        for task in list(self.late):
            try:
                await asyncio.wait_for(task, CALLBACK_TIMEOUT_SECONDS)
            except (TimeoutError, Exception):
                task.cancel()
