"""The company owner's conversation, independent of Telegram: an input (text, command, button, attachment) goes
in, a list of replies (text + button rows) comes out. The Telegram handlers and the terminal chat both use it.

State (where a chat is in the escalation flow, its recent questions, what it told us before) lives in the API
(``/api/v1/conversations``) and is saved with the version it was read at, so another bot process, or this one
after a restart, continues the same flow. A turn whose save loses a race is run again on the fresh state.
The Telegram bot gets the state with the claim of the update (``ChatSnapshot``: the state, its version and
whether the chat has an open ticket) and reads it only to run a turn again; the terminal chat reads it.

Button callback data (Telegram allows 64 bytes):
``fb:up:<ask>`` / ``fb:down:<ask>`` feedback on an answer · ``pick:<ask>:<n>`` a clarify candidate ·
``human:<ask>`` talk to a person · ``addr:<n>`` / ``addr:prev`` a place · ``skip:company`` / ``skip:bizno`` ·
``submit`` / ``readdr`` / ``cancel`` · ``newq`` a new question instead of a follow-up · ``status`` ·
``rate:<ticket>:<n>`` a rating (sent by the API after resolution) · ``ratec:skip`` no comment.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Literal
from zoneinfo import ZoneInfo

from bot import texts
from bot.client import ApiClient, ApiError
from bot.validation import format_business_number, normalise_business_number

log = logging.getLogger(__name__)

SEOUL = ZoneInfo("Asia/Seoul")
RECENT_ASKS = 5
MAX_COMPANY_NAME = 100
MAX_BUTTON_LABEL = 40
SMALL_TALK = {"greeting": texts.GREETING, "thanks": texts.THANKS, "chitchat": texts.CHITCHAT}
YES_WORDS = {"네", "예", "응", "ㅇㅇ", "넵", "네네", "접수", "접수해주세요", "접수해 주세요", "좋아요", "확인", "yes", "ok"}


@dataclass(frozen=True)
class Button:
    text: str
    data: str


@dataclass
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)


@dataclass(frozen=True)
class Incoming:
    """One thing the owner did. ``key`` identifies it for idempotent retries (e.g. the Telegram update id)."""

    chat_id: int
    kind: Literal["text", "command", "button", "attachment"]
    text: str = ""
    command: str = ""
    data: str = ""
    attachment: dict | None = None
    display_name: str = ""
    key: str = ""

    @classmethod
    def message(cls, chat_id: int, text: str, **kw) -> "Incoming":
        stripped = (text or "").strip()
        if stripped.startswith("/") and len(stripped) > 1 and stripped[1:2].isascii() and stripped[1:2].isalpha():
            head, _, rest = stripped.partition(" ")
            return cls(chat_id=chat_id, kind="command", command=head[1:].split("@")[0].lower(), text=rest.strip(),
                       **kw)
        return cls(chat_id=chat_id, kind="text", text=text or "", **kw)


@dataclass(frozen=True)
class ChatSnapshot:
    """The chat as the API found it when the update was claimed: a turn's first attempt starts from it."""

    state: dict
    version: int
    open_ticket: bool | None = None  # None: not known (ask the API: the follow-up call answers 404 when none)


class ChatRateLimiter:
    """At most ``limit`` inputs per chat per ``window`` seconds. The first input over the limit gets a polite
    warning ("warn"), the rest of the burst is dropped silently ("drop")."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[int, deque[float]] = defaultdict(deque)
        self._warned: dict[int, float] = {}

    def check(self, chat_id: int) -> Literal["ok", "warn", "drop"]:
        now = self.clock()
        seen = self._seen[chat_id]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) < self.limit:
            seen.append(now)
            self._warned.pop(chat_id, None)
            return "ok"
        warned_at = self._warned.get(chat_id)
        if warned_at is not None and warned_at > now - self.window:
            return "drop"
        self._warned[chat_id] = now
        return "warn"


def _label(text: str, limit: int = MAX_BUTTON_LABEL) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _local_date(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    local = moment.astimezone(SEOUL)
    return f"{local.month}월 {local.day}일"


class Conversation:
    """The owner conversation over the hotline API. One instance serves every chat."""

    def __init__(self, api: ApiClient, *, max_text_chars: int = 1000, limiter: ChatRateLimiter | None = None,
                 channel: str = "telegram"):
        self.api = api
        self.max_text_chars = max_text_chars
        self.limiter = limiter
        self.channel = channel

    async def handle(self, incoming: Incoming, *, snapshot: ChatSnapshot | None = None) -> list[Reply]:
        """The replies to one input. Raises ``ApiUnavailable`` when the API cannot be reached (nothing is lost:
        handling the same input again later is safe). ``snapshot``: the chat's state as just read (with the
        update's claim), used instead of reading it; a turn run again after a lost race reads it afresh."""
        if self.limiter is not None:
            verdict = self.limiter.check(incoming.chat_id)
            if verdict == "warn":
                return [Reply(texts.RATE_LIMITED)]
            if verdict == "drop":
                return []
        for attempt in range(3):
            if snapshot is not None and attempt == 0:
                before, version, open_ticket = snapshot.state, snapshot.version, snapshot.open_ticket
            else:
                current = await self.api.get_conversation(incoming.chat_id)
                before, version, open_ticket = current.get("state") or {}, current["version"], None
            turn = _Turn(self, incoming, copy.deepcopy(before), open_ticket=open_ticket)
            replies = await turn.run()
            if turn.state == before:
                return replies
            try:
                await self.api.save_conversation(incoming.chat_id, turn.state, version)
            except ApiError as exc:
                if exc.status == 409 and attempt < 2:
                    log.info("conversation %s changed meanwhile; running the turn again", incoming.chat_id)
                    continue
                raise
            return replies
        raise AssertionError("unreachable")


class _Turn:
    """One input handled against one snapshot of the chat's state (``self.state`` is the state to save)."""

    def __init__(self, conversation: Conversation, incoming: Incoming, state: dict, *,
                 open_ticket: bool | None = None):
        self.c = conversation
        self.api = conversation.api
        self.msg = incoming
        self.chat_id = incoming.chat_id
        self.state = state
        self.open_ticket = open_ticket  # False: known to have none (no need to try a follow-up)

    async def run(self) -> list[Reply]:
        kind = self.msg.kind
        if kind == "command":
            return await self.on_command(self.msg.command, self.msg.text)
        if kind == "button":
            return await self.on_button(self.msg.data)
        if kind == "attachment":
            return await self.on_attachment()
        return await self.on_text(self.msg.text)

    # --- commands -------------------------------------------------------------------------------------------------

    async def on_command(self, command: str, args: str) -> list[Reply]:
        if command == "start":
            self.end_flow()
            self.state.pop("new_question", None)
            return [Reply(texts.WELCOME)]
        if command == "help":
            return [Reply(texts.HELP)]
        if command == "status":
            return await self.status()
        if command == "cancel":
            if self.state.get("flow"):
                self.end_flow()
                return [Reply(texts.CANCELLED)]
            self.state.pop("new_question", None)
            return [Reply(texts.NOTHING_TO_CANCEL)]
        return [Reply("모르는 명령어예요. 아래 안내를 참고해 주세요.\n\n" + texts.HELP)]

    def end_flow(self) -> None:
        for key in ("flow", "esc", "rating"):
            self.state.pop(key, None)

    # --- typed text -----------------------------------------------------------------------------------------------

    async def on_text(self, raw: str) -> list[Reply]:
        text = (raw or "").strip()
        if not text:
            return [Reply(texts.EMPTY)]
        if len(text) > self.c.max_text_chars:
            return [Reply(f"메시지가 너무 길어요. ({len(text):,}자)\n{self.c.max_text_chars:,}자 이내로 핵심만 "
                          "나누어 보내 주세요.")]
        flow = self.state.get("flow")
        if flow == "escalate":
            return await self.escalate_text(text)
        if flow == "rating_comment":
            return await self.rating_comment(text)
        if not self.state.pop("new_question", False):
            followup = await self.try_followup(text=text)
            if followup is not None:
                return followup
        return await self.ask(text)

    async def try_followup(self, *, text: str | None, attachment: dict | None = None) -> list[Reply] | None:
        """Append to the chat's open ticket; None when there is none."""
        if self.open_ticket is False:
            return None
        try:
            result = await self.api.append_owner_message(self.chat_id, text=text, attachment=attachment,
                                                         key=self.msg.key)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        ticket = result["ticket"]
        buttons = [[Button(texts.BTN_NEW_QUESTION, "newq"), Button(texts.BTN_STATUS, "status")]]
        if attachment is not None:
            what = texts.ATTACHMENT_NAMES.get(attachment.get("type", ""), "파일")
            return [Reply(texts.NON_TEXT_ATTACHED.format(what=what, number=ticket["number"]), buttons)]
        return [Reply(texts.followup_added(ticket["number"], ticket["center"]["name"]), buttons)]

    async def ask(self, text: str) -> list[Reply]:
        result = await self.api.ask(text, chat_id=self.chat_id, key=self.msg.key)
        kind = result.get("kind") or "question"
        if kind == "empty":
            return [Reply(texts.EMPTY)]
        if kind in SMALL_TALK:
            return [Reply(SMALL_TALK[kind])]
        log_id = result.get("ask_log_id")
        outcome = result["outcome"]
        candidates = [c["entry_id"] for c in result.get("candidates") or []][:3]
        self.remember_ask(log_id, text, candidates if outcome == "clarify" else [])
        if outcome == "answered" and result.get("answer"):
            return [self.answer_reply(result["answer"], log_id)]
        if outcome == "clarify" and candidates:
            rows = [[Button(_label(c["title"]), f"pick:{log_id}:{i}")]
                    for i, c in enumerate((result.get("candidates") or [])[:3])]
            rows.append([Button(texts.BTN_HUMAN, f"human:{log_id}")])
            return [Reply(texts.CLARIFY, rows)]
        return await self.start_escalation(question=text, ask_log_id=log_id, intro=texts.ESCALATE_INTRO)

    def remember_ask(self, log_id: int | None, text: str, candidates: list[str]) -> None:
        if log_id is None:
            return
        asks = [a for a in self.state.get("asks") or [] if a.get("id") != log_id]
        asks.append({"id": log_id, "text": text[:1000], "cands": candidates})
        self.state["asks"] = asks[-RECENT_ASKS:]

    def recent_ask(self, log_id: str) -> dict | None:
        for a in self.state.get("asks") or []:
            if str(a.get("id")) == log_id:
                return a
        return None

    @staticmethod
    def answer_reply(answer: dict, log_id: int | None) -> Reply:
        body = texts.answer(answer["text"], year=answer.get("year"), source_title=answer.get("source_title") or "",
                            source_url=answer.get("source") or "")
        buttons = []
        if log_id is not None:
            buttons = [[Button(texts.BTN_HELPFUL, f"fb:up:{log_id}"), Button(texts.BTN_NOT_HELPFUL, f"fb:down:{log_id}")]]
        return Reply(body, buttons)

    # --- buttons --------------------------------------------------------------------------------------------------

    async def on_button(self, data: str) -> list[Reply]:
        parts = data.split(":")
        head = parts[0]
        if head == "fb" and len(parts) == 3 and parts[1] in ("up", "down"):
            return await self.feedback(parts[2], helpful=parts[1] == "up")
        if head == "pick" and len(parts) == 3:
            return await self.pick(parts[1], parts[2])
        if head == "human" and len(parts) == 2:
            ask = self.recent_ask(parts[1])
            if ask is None:
                return await self.start_escalation(question=None, ask_log_id=None, intro=None)
            return await self.start_escalation(question=ask["text"], ask_log_id=ask["id"], intro=None)
        if head == "addr" and len(parts) == 2:
            return await self.pick_address(parts[1])
        if head == "skip" and len(parts) == 2 and parts[1] in ("company", "bizno"):
            return await self.skip(parts[1])
        if head == "submit":
            return await self.submit()
        if head == "readdr":
            esc = self.esc()
            if esc is None:
                return [Reply(texts.STALE_BUTTON)]
            esc["step"] = "address"
            esc.pop("candidates", None)
            return [self.address_question()]
        if head == "cancel":
            return await self.on_command("cancel", "")
        if head == "newq":
            self.end_flow()
            self.state["new_question"] = True
            return [Reply(texts.NEW_QUESTION)]
        if head == "status":
            return await self.status()
        if head == "rate" and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            return await self.rate(int(parts[1]), int(parts[2]))
        if head == "ratec" and parts[1:] == ["skip"]:
            if self.state.get("flow") == "rating_comment":
                self.end_flow()
                return [Reply(texts.RATING_DONE)]
            return [Reply(texts.RATING_DONE)]
        return [Reply(texts.UNKNOWN_BUTTON)]

    async def feedback(self, log_id: str, *, helpful: bool) -> list[Reply]:
        if log_id.isdigit():
            try:
                await self.api.ask_feedback(int(log_id), helpful=helpful)
            except ApiError as exc:
                if exc.status not in (404, 422):
                    raise
        if helpful:
            return [Reply(texts.FEEDBACK_THANKS)]
        ask = self.recent_ask(log_id)
        return await self.start_escalation(question=ask["text"] if ask else None,
                                           ask_log_id=ask["id"] if ask else None, intro=texts.NOT_HELPFUL)

    async def pick(self, log_id: str, index: str) -> list[Reply]:
        ask = self.recent_ask(log_id)
        if ask is None or not index.isdigit() or int(index) >= len(ask.get("cands") or []):
            return [Reply(texts.STALE_BUTTON)]
        try:
            entry = await self.api.kb_entry(ask["cands"][int(index)])
        except ApiError as exc:
            if exc.status == 404:
                return [Reply("이 안내는 지금 제공되지 않아요. 궁금한 점을 다시 보내 주시거나 \"상담원 연결\"을 눌러 주세요.",
                              [[Button(texts.BTN_HUMAN, f"human:{ask['id']}")]])]
            raise
        return [self.answer_reply(entry, ask["id"])]

    # --- escalation: place, company, business number, confirm, ticket -------------------------------------------------

    def esc(self) -> dict | None:
        return self.state.get("esc") if self.state.get("flow") == "escalate" else None

    async def start_escalation(self, *, question: str | None, ask_log_id: int | None,
                               intro: str | None) -> list[Reply]:
        self.state.pop("rating", None)
        self.state["flow"] = "escalate"
        esc: dict[str, Any] = {"step": "address", "question": question, "ask_log_id": ask_log_id}
        self.state["esc"] = esc
        if not question:
            esc["step"] = "question"
            return [Reply(texts.ASK_QUESTION_FOR_HUMAN, [[Button(texts.BTN_CANCEL, "cancel")]])]
        reply = self.address_question()
        if intro:
            reply.text = f"{intro}\n\n{reply.text}"
        return [reply]

    def address_question(self) -> Reply:
        rows: list[list[Button]] = []
        profile = self.state.get("profile") or {}
        if profile.get("address"):
            rows.append([Button(_label(texts.BTN_SAME_ADDRESS.format(address=profile.get("region")
                                                                      or profile["address"])), "addr:prev")])
        rows.append([Button(texts.BTN_CANCEL, "cancel")])
        return Reply(texts.ASK_ADDRESS, rows)

    async def escalate_text(self, text: str) -> list[Reply]:
        esc = self.esc()
        step = esc.get("step")
        if step == "question":
            esc["question"] = text
            esc["step"] = "address"
            return [self.address_question()]
        if step in ("address", "address_pick"):
            return await self.resolve_address(text)
        if step == "company":
            if len(text) > MAX_COMPANY_NAME:
                return [Reply(texts.COMPANY_TOO_LONG, [[Button(texts.BTN_SKIP, "skip:company")]])]
            esc["company_name"] = text
            return [self.business_number_question()]
        if step == "bizno":
            digits = normalise_business_number(text)
            if digits is None:
                return [Reply(texts.INVALID_BUSINESS_NUMBER, [[Button(texts.BTN_SKIP, "skip:bizno")]])]
            esc["business_number"] = digits
            return [self.confirm_question()]
        if step == "confirm":
            if text.replace(" ", "").lower() in {w.replace(" ", "") for w in YES_WORDS}:
                return await self.submit()
            reply = self.confirm_question()
            reply.text = "아래 버튼으로 접수 여부를 골라 주세요.\n\n" + reply.text
            return [reply]
        self.end_flow()
        return await self.ask(text)

    async def resolve_address(self, text: str) -> list[Reply]:
        esc = self.esc()
        try:
            result = await self.api.resolve_address(text)
        except ApiError as exc:
            if exc.status == 422:
                return [Reply(exc.detail + texts.ADDRESS_RETRY_HINT, [[Button(texts.BTN_CANCEL, "cancel")]])]
            raise
        if result.get("center"):
            return self.routed(address=text, region=_region(result.get("region")), center=result["center"])
        candidates = result.get("candidates") or []
        if not candidates:
            return [Reply("입력하신 주소로 담당 센터를 찾지 못했어요. 시·군·구를 함께 적어 주세요. 예) 경기 포천시"
                          + texts.ADDRESS_RETRY_HINT, [[Button(texts.BTN_CANCEL, "cancel")]])]
        esc["step"] = "address_pick"
        esc["candidates"] = [{"address": _region(c["region"]), "center": {"code": c["center"]["code"],
                                                                          "name": c["center"]["name"]}}
                             for c in candidates[:8]]
        rows = [[Button(_label(f"{c['address']} ({c['center']['name']})"), f"addr:{i}")]
                for i, c in enumerate(esc["candidates"])]
        rows.append([Button(texts.BTN_CANCEL, "cancel")])
        return [Reply(texts.ADDRESS_AMBIGUOUS + "\n(목록에 없으면 시·도와 함께 다시 적어 주세요.)", rows)]

    def routed(self, *, address: str, region: str, center: dict, reuse_company: bool = False) -> list[Reply]:
        esc = self.esc()
        esc.pop("candidates", None)
        esc["address"] = address
        esc["region"] = region or address
        esc["center"] = {"code": center["code"], "name": center["name"]}
        note = texts.address_routed(esc["region"], center["name"])
        if reuse_company:
            profile = self.state.get("profile") or {}
            esc["company_name"] = profile.get("company_name")
            esc["business_number"] = profile.get("business_number")
            reply = self.confirm_question()
        else:
            reply = self.company_question()
        reply.text = f"{note}\n\n{reply.text}"
        return [reply]

    async def pick_address(self, which: str) -> list[Reply]:
        esc = self.esc()
        if esc is None:
            return [Reply(texts.STALE_BUTTON)]
        if which == "prev":
            profile = self.state.get("profile") or {}
            if not profile.get("address") or not profile.get("center"):
                return [self.address_question()]
            return self.routed(address=profile["address"], region=profile.get("region") or profile["address"],
                               center=profile["center"], reuse_company=True)
        candidates = esc.get("candidates") or []
        if esc.get("step") != "address_pick" or not which.isdigit() or int(which) >= len(candidates):
            return [Reply(texts.STALE_BUTTON)]
        chosen = candidates[int(which)]
        return self.routed(address=chosen["address"], region=chosen["address"], center=chosen["center"])

    def company_question(self) -> Reply:
        self.esc()["step"] = "company"
        return Reply(texts.ASK_COMPANY, [[Button(texts.BTN_SKIP, "skip:company")]])

    def business_number_question(self) -> Reply:
        self.esc()["step"] = "bizno"
        return Reply(texts.ASK_BUSINESS_NUMBER, [[Button(texts.BTN_SKIP, "skip:bizno")]])

    def confirm_question(self) -> Reply:
        esc = self.esc()
        esc["step"] = "confirm"
        bn = esc.get("business_number")
        text = texts.confirm(question=esc["question"], region=esc["region"], center_name=esc["center"]["name"],
                             company_name=esc.get("company_name"),
                             business_number=format_business_number(bn) if bn else None)
        return Reply(text, [[Button(texts.BTN_SUBMIT, "submit")],
                            [Button(texts.BTN_CHANGE_ADDRESS, "readdr"), Button(texts.BTN_CANCEL, "cancel")]])

    async def skip(self, what: str) -> list[Reply]:
        esc = self.esc()
        if esc is None or esc.get("step") != ("company" if what == "company" else "bizno"):
            return [Reply(texts.STALE_BUTTON)]
        if what == "company":
            esc["company_name"] = None
            return [self.business_number_question()]
        esc["business_number"] = None
        return [self.confirm_question()]

    async def submit(self) -> list[Reply]:
        esc = self.esc()
        if esc is None or esc.get("step") != "confirm":
            return [Reply(texts.STALE_BUTTON)]
        try:
            created = await self.api.create_ticket(
                chat_id=self.chat_id, text=esc["question"], address=esc["address"],
                company_name=esc.get("company_name"), business_number=esc.get("business_number"),
                ask_log_id=esc.get("ask_log_id"), display_name=self.msg.display_name or None, key=self.msg.key)
        except ApiError as exc:
            if exc.status != 422:
                raise
            if exc.code == "invalid_business_number":
                return [self.business_number_question()]
            if exc.code == "unknown_ask_log":
                esc["ask_log_id"] = None
                return await self.submit()
            esc["step"] = "address"
            reply = self.address_question()
            reply.text = f"{exc.detail}\n\n{reply.text}"
            return [reply]
        self.state["profile"] = {"address": esc["address"], "region": esc.get("region"), "center": esc["center"],
                                 "company_name": esc.get("company_name"),
                                 "business_number": esc.get("business_number")}
        self.end_flow()
        return [Reply(f"{created['acknowledgement']}\n\n{texts.CREATED_FOLLOWUP_HINT}",
                      [[Button(texts.BTN_STATUS, "status")]])]

    # --- attachments, status, ratings --------------------------------------------------------------------------------

    async def on_attachment(self) -> list[Reply]:
        attachment = self.msg.attachment or {}
        caption = (self.msg.text or "").strip()[: self.c.max_text_chars] or None
        replies = await self.try_followup(text=caption, attachment=attachment)
        if replies is not None:
            return replies
        return [Reply(texts.NON_TEXT)]

    async def status(self) -> list[Reply]:
        tickets = await self.api.chat_tickets(self.chat_id)
        if not tickets:
            return [Reply(texts.NO_TICKETS)]
        lines = [texts.STATUS_HEAD, ""]
        for t in tickets[:5]:
            lines.append(f"• {t['number']} — {t.get('status_label') or t['status']}")
            lines.append(f"  {t['center']['name']} · {_local_date(t.get('created_at'))} 접수")
            lines.append(f"  \"{_label(t.get('excerpt') or '', 40)}\"")
            if t.get("promise"):
                lines.append(f"  ⏰ {t['promise']} 답변 예정")
            lines.append("")
        if len(tickets) > 5:
            lines.append(f"외 {len(tickets) - 5}건")
        return [Reply("\n".join(lines).strip())]

    async def rate(self, ticket_id: int, stars: int) -> list[Reply]:
        if not 1 <= stars <= 5:
            return [Reply(texts.UNKNOWN_BUTTON)]
        try:
            await self.api.rate_ticket(self.chat_id, ticket_id, stars)
        except ApiError as exc:
            if exc.status in (404, 409, 422):
                return [Reply(texts.RATING_INVALID)]
            raise
        self.end_flow()
        self.state["flow"] = "rating_comment"
        self.state["rating"] = {"ticket_id": ticket_id, "rating": stars}
        return [Reply(texts.rated(stars), [[Button(texts.BTN_SKIP, "ratec:skip")]])]

    async def rating_comment(self, text: str) -> list[Reply]:
        rating = self.state.get("rating") or {}
        self.end_flow()
        if rating.get("ticket_id"):
            try:
                await self.api.rate_ticket(self.chat_id, rating["ticket_id"], rating["rating"], comment=text)
            except ApiError as exc:
                if exc.status in (404, 409, 422):
                    return [Reply(texts.RATING_INVALID)]
                raise
        return [Reply(texts.RATING_COMMENT_THANKS)]


def _region(region: dict | None) -> str:
    if not region:
        return ""
    return " ".join(p for p in (region.get("sido"), region.get("sigungu")) if p)
