"""Processing owners' updates: claim, take each chat's turn in order, run the engine, carry out its effects, save
the state and queue every reply, all in the caller's transaction (the request commits it, or nothing happened).

- **Exactly once.** An update is claimed by inserting its key into ``channel_updates`` in the same transaction
  that processes it. A redelivered update finds its key and is skipped; on PostgreSQL a second process inserting
  the same key waits for the first transaction and then skips it (or takes it, if the first rolled back). There
  is no claim that outlives its transaction, so nothing waits for a dead process.
- **In order.** Each chat's conversation row is locked (``FOR UPDATE`` on PostgreSQL, in chat id order; SQLite
  writers are serialised) before its updates run, one after another, in the order given.
- **Stored first.** Replies are outbox rows written in the same transaction; the caller leases them for immediate
  delivery or leaves them to the outbox drainers.

``process`` is called by each channel's module (``api.channels``); it only flushes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers import routing
from api.centers.models import Center
from api.centers.contact import CENTRE_TOPICS, format_contact
from api.centers.service import routing_note_for
from api.chats.service import Recipient, ensure_chats
from api.conversations import engine, texts
from api.conversations.model import (AnswerView, AppendToTicket, CandidateView, CreateTicket, Facts, Incoming, LogAsk,
                                     MatchView, RateTicket, RecordFeedback, RecordPick, Reply, Routing, TicketView)
from api.conversations.models import ChannelUpdate, Conversation
from api.conversations.state import AskMemo, ChatState, Place
from api.db import dialect_insert, utcnow
from api.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from api.kb import asklog, suggestions
from api.kb.cache import in_match_thread
from api.outbox.models import OutboxMessage
from api.outbox.service import message_row
from api.ratelimits import RateLimits
from api.sla import SlaPolicy, describe_due
from api.tickets import owner_actions
from api.tickets.base import center_calendar
from api.tickets.models import Ticket
from knowledge.loader import Entry
from knowledge.matcher import Context as MatchContext
from knowledge.matcher import Matcher, MatchResult
from knowledge.years import History, for_year, named_year, year_note

REPLY_KIND = "reply"
MAX_KEY_CHARS = 100
_REFUSALS = (BadRequest, Conflict, Forbidden, NotFound, Unprocessable)  # a domain's "no": not a failure of the batch
_TICKET_EFFECTS = (CreateTicket, AppendToTicket, RateTicket)


@dataclass(frozen=True)
class OwnerUpdate:
    """One owner's update, translated by its channel: ``key`` is unique within the channel (Telegram's update id),
    ``address`` the chat as the channel knows it."""

    key: str
    address: str
    incoming: Incoming


@dataclass(frozen=True)
class Knowledge:
    """What the engine's context answers from: the process's matcher (current entries), the earlier years' entries
    beside it, the programme year and the day in Korea."""

    matcher: Matcher
    today: dt.date
    programme_year: int
    history: History = field(default_factory=History)


@dataclass
class Processed:
    """What processing produced: per update key, the outbox ids of its replies (in order)."""

    replies: dict[str, list[int]] = field(default_factory=dict)

    @property
    def outbox_ids(self) -> list[int]:
        return [i for ids in self.replies.values() for i in ids]


# --- claims ----------------------------------------------------------------------------------------------------------


# The statements every update runs, built once per database as Core statements with bound parameters (building
# and caching a statement per request costs more than running it).
CLAIMS = ChannelUpdate.__table__
CONVERSATIONS = Conversation.__table__
OUTBOX = OutboxMessage.__table__
CENTRES = Center.__table__
TICKETS = Ticket.__table__


@dataclass(frozen=True)
class _Statements:
    claim: Any
    new_conversations: Any


@functools.cache
def _statements(dialect: str) -> _Statements:
    insert_ = dialect_insert(dialect)
    return _Statements(
        claim=insert_(CLAIMS).on_conflict_do_nothing().returning(CLAIMS.c.key, sort_by_parameter_order=True),
        new_conversations=insert_(CONVERSATIONS).on_conflict_do_nothing())


_STATES = (select(CONVERSATIONS.c.chat_id, CONVERSATIONS.c.state)
           .where(CONVERSATIONS.c.chat_id.in_(bindparam("ids", expanding=True))).order_by(CONVERSATIONS.c.chat_id))
_CENTRES = select(CENTRES.c.id, CENTRES.c.code, CENTRES.c.name, CENTRES.c.phone, CENTRES.c.address, CENTRES.c.website,
                  CENTRES.c.office_hours, CENTRES.c.opens, CENTRES.c.closes)
_TICKETS = (select(TICKETS.c.id, TICKETS.c.chat_id, TICKETS.c.number, TICKETS.c.status, TICKETS.c.center_id,
                   TICKETS.c.created_at, TICKETS.c.text, TICKETS.c.first_responded_at, TICKETS.c.resolved_at,
                   TICKETS.c.first_response_due, TICKETS.c.rating)
            .where(TICKETS.c.chat_id.in_(bindparam("chats", expanding=True)))
            .order_by(TICKETS.c.created_at.desc(), TICKETS.c.id.desc()))
_SAVE = (update(CONVERSATIONS).where(CONVERSATIONS.c.chat_id == bindparam("c"))
         .values(state=bindparam("s", type_=CONVERSATIONS.c.state.type), version=CONVERSATIONS.c.version + 1,
                 updated_at=bindparam("t", type_=CONVERSATIONS.c.updated_at.type)))
_QUEUE = insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True)


async def claim(session: AsyncSession, *, channel: str, keys: Sequence[str], now: dt.datetime | None = None) -> set[str]:
    """Record ``keys`` as processed in this transaction; the ones seen before are left out of the answer. One
    statement, rows in key order: two processes claiming overlapping batches take the keys in the same order (no
    deadlock), and the second waits for the first's transaction (PostgreSQL) before it learns the outcome."""
    wanted = sorted({k for k in keys if 0 < len(k) <= MAX_KEY_CHARS})
    if not wanted:
        return set()
    now = now or utcnow()
    result = await session.execute(_statements(session.get_bind().dialect.name).claim,
                                   [{"channel": channel, "key": key, "processed_at": now} for key in wanted])
    return set(result.scalars().all())


async def stored_replies(session: AsyncSession, *, channel: str, keys: Sequence[str]) -> dict[str, list[int]]:
    """The outbox ids recorded for updates processed before (channels that answer in the response)."""
    if not keys:
        return {}
    rows = (await session.execute(select(ChannelUpdate.key, ChannelUpdate.replies).where(
        ChannelUpdate.channel == channel, ChannelUpdate.key.in_(list(keys))))).all()
    return {key: list(replies or []) for key, replies in rows}


async def record_replies(session: AsyncSession, *, channel: str, processed: Processed) -> None:
    """Keep each update's outbox ids with its claim, so a repeated request is answered the same way."""
    if not processed.replies:
        return
    await session.execute(
        update(ChannelUpdate.__table__)
        .where(ChannelUpdate.channel == channel, ChannelUpdate.key == bindparam("k"))
        .values(replies=bindparam("r")),
        [{"k": key, "r": ids} for key, ids in processed.replies.items()])


async def prune_claims(session: AsyncSession, *, processed_before: dt.datetime) -> int:
    """Forget updates processed before ``processed_before`` (no channel redelivers that late)."""
    result = await session.execute(delete(ChannelUpdate).where(ChannelUpdate.processed_at < processed_before))
    return result.rowcount or 0


async def forget_idle(session: AsyncSession, *, untouched_since: dt.datetime) -> int:
    """Retention: conversations untouched since ``untouched_since`` are forgotten (they start afresh)."""
    result = await session.execute(delete(Conversation).where(Conversation.updated_at < untouched_since))
    return result.rowcount or 0


# --- the context the engine consults -----------------------------------------------------------------------------------


def answer_view(entry: Entry, knowledge: Knowledge) -> AnswerView:
    """An entry as the owner reads it: an answer describing an earlier year than the programme year says so
    first (``knowledge.years.year_note``)."""
    note = year_note(entry, knowledge.programme_year, knowledge.history.current_of(entry))
    return AnswerView(entry_id=entry.id, topic=entry.topic, title=entry.title, text=entry.answer, year=entry.year,
                      source_title=entry.source_title, source_url=entry.source_url, year_note=note)


def match_view(text: str, result: MatchResult, knowledge: Knowledge) -> MatchView:
    """What the matcher made of ``text``; an answer for the year the owner named, when the KB has one (the ask
    log then records the entry served)."""
    answer = None
    if result.outcome == "answered" and result.entry is not None:
        named = named_year(text, knowledge.programme_year)
        served = for_year(result.entry, named, knowledge.history, today=knowledge.today)
        if served is not result.entry:
            result = dataclasses.replace(result, entry=served)
        answer = answer_view(served, knowledge)
    facts = result.facts
    return MatchView(kind=result.kind, outcome=result.outcome, answer=answer,  # type: ignore[arg-type]
                     candidates=tuple(CandidateView(entry_id=c.entry_id, topic=c.topic, title=c.title, score=c.score)
                                      for c in result.candidates),
                     facts=Facts(region_text=facts.region, company_name=facts.company),
                     followed=result.followup == "followed", result=result)


@dataclass
class _Context:
    knowledge: Knowledge
    centres: dict[str, Center]
    tickets: list[TicketView]
    max_text_chars: int

    def match(self, text: str, *, previous: AskMemo | None) -> MatchView:
        context = MatchContext(entry_id=previous.entry_id) if previous is not None and previous.entry_id else None
        result = self.knowledge.matcher.match(text, today=self.knowledge.today, context=context)
        view = match_view(text, result, self.knowledge)
        if view.answer is not None and view.answer.topic in CENTRE_TOPICS:
            note = routing_note_for(text, self.centres)  # "포항에 공장있는데 어느센터로 가요": which, and how to reach it
            if note:
                view = dataclasses.replace(view, answer=dataclasses.replace(
                    view.answer, text=f"{view.answer.text}\n\n{note}"))
        return view

    def entry(self, entry_id: str) -> AnswerView | None:
        entry = self.knowledge.matcher.get(entry_id)
        if entry is None or not entry.is_valid_on(self.knowledge.today):
            return None
        return answer_view(entry, self.knowledge)

    def centre_place(self, code: str) -> Place | None:
        center = self.centres.get(code)
        address = routing.home_address(code)
        if center is None or address is None:
            return None
        return Place(address=address, region=address, center_code=center.code, center_name=center.name)

    def route(self, text: str) -> Routing:
        resolution = routing.resolve(text)

        def place(route: routing.Route, address: str) -> Place | None:
            center = self.centres.get(route.center_code)
            if center is None:
                return None
            region = " ".join(p for p in (route.region.sido, route.region.sigungu) if p)
            return Place(address=address, region=region, center_code=center.code, center_name=center.name)

        if resolution.route is not None:
            routed = place(resolution.route, text)
            if routed is not None:
                return Routing("routed", place=routed, contact=format_contact(self.centres[routed.center_code]) or None)
        options = [p for r in resolution.candidates if (p := place(r, "")) is not None]
        if options:
            return Routing("ambiguous", options=tuple(o.model_copy(update={"address": o.region}) for o in options))
        return Routing("unknown")


# --- processing ------------------------------------------------------------------------------------------------------


async def _lock_states(session: AsyncSession, chat_ids: list[int], now: dt.datetime) -> dict[int, ChatState]:
    """Every chat's state, its row locked until the transaction ends (chat id order: no deadlocks). Chats seen
    before cost one statement; a new chat's row is created first."""
    ids = sorted(set(chat_ids))
    dialect = session.get_bind().dialect.name
    query = _STATES.with_for_update() if dialect == "postgresql" else _STATES
    found = dict((await session.execute(query, {"ids": ids})).all())
    missing = [c for c in ids if c not in found]
    if missing:
        await session.execute(_statements(dialect).new_conversations,
                              [{"chat_id": c, "state": {}, "version": 0, "updated_at": now} for c in missing])
        found.update((await session.execute(query, {"ids": missing})).all())
    return {chat_id: ChatState.load(found[chat_id]) for chat_id in ids}


async def _save_states(session: AsyncSession, states: dict[int, ChatState], now: dt.datetime) -> None:
    if states:
        await session.execute(_SAVE, [{"c": chat_id, "s": state.dump(), "t": now} for chat_id, state in states.items()])


async def ticket_views(session: AsyncSession, *, chat_ids: Sequence[int], centres: dict[int, Center],
                       now: dt.datetime) -> dict[int, list[TicketView]]:
    """Each chat's tickets, newest first, with the promise of those still waiting for a first answer."""
    out: dict[int, list[TicketView]] = defaultdict(list)
    if not chat_ids:
        return out
    rows = (await session.execute(_TICKETS, {"chats": sorted(set(chat_ids))})).all()
    calendars = {}
    for row in rows:
        center = centres[row.center_id]
        promise = None
        if row.status != "resolved" and row.first_responded_at is None:
            if center.id not in calendars:
                calendars[center.id] = await center_calendar(session, center, around=now)
            promise = describe_due(row.first_response_due, now, calendars[center.id])
        out[row.chat_id].append(TicketView(id=row.id, number=row.number, status=row.status, center_name=center.name,
                                           created_at=row.created_at, question=row.text,
                                           responded_at=row.first_responded_at, resolved_at=row.resolved_at,
                                           promise=promise, rating=row.rating))
    return out


@dataclass
class _Run:
    """One batch of updates in one transaction."""

    session: AsyncSession
    channel: str
    knowledge: Knowledge
    policy: SlaPolicy
    max_text_chars: int
    now: dt.datetime
    centres_by_id: dict[int, Center] = field(default_factory=dict)
    centres_by_code: dict[str, Center] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)  # outbox rows, in order
    row_keys: list[str] = field(default_factory=list)  # the update key of each row

    async def carry_out(self, chat_id: int, turn: engine.Turn) -> tuple[list[Reply], bool]:
        """The turn's replies, with what its effects add (the ticket acknowledgement), in order, and whether the
        turn took effect. A turn whose ticket effect the domain refuses (a 4xx) is undone as a whole and the owner
        is told: the chat's state stays as it was, so nothing they gave is lost and they can try again."""
        if not any(isinstance(o, _TICKET_EFFECTS) for o in turn.outputs):
            return await self._outputs(chat_id, turn), True
        try:
            async with self.session.begin_nested():
                return await self._outputs(chat_id, turn), True
        except _REFUSALS:
            return [Reply(texts.SOMETHING_WRONG)], False

    async def _outputs(self, chat_id: int, turn: engine.Turn) -> list[Reply]:
        replies: list[Reply] = []
        for output in turn.outputs:
            if isinstance(output, Reply):
                replies.append(output)
            else:
                replies += await self.effect(chat_id, turn.state, output)
        return replies

    async def effect(self, chat_id: int, state: ChatState, effect) -> list[Reply]:
        """Carry out one effect; the replies it adds."""
        if isinstance(effect, LogAsk):
            row = asklog.ask_log_row(text=effect.text, result=effect.match.result, chat_id=chat_id,
                                     channel=self.channel, created_at=self.now)
            [log_id] = await asklog.insert_ask_logs(self.session, rows=[row])
            memo = state.ask(effect.ref)
            if memo is not None:
                memo.log_id = log_id
            return []
        if isinstance(effect, RecordFeedback):
            row = await asklog.set_feedback(self.session, ask_log_id=effect.log_id, helpful=effect.helpful)
            if effect.suggest:
                await suggestions.learn_from_feedback(self.session, ask_log=row, now=self.now)
            return []
        if isinstance(effect, RecordPick):
            if effect.log_id is not None:
                await asklog.set_picked(self.session, ask_log_id=effect.log_id, entry_id=effect.entry_id)
            if effect.suggest:
                await suggestions.suggest(self.session, entry_id=effect.entry_id, question=effect.text,
                                          source="pick", ask_log_id=effect.log_id, now=self.now)
            return []
        if isinstance(effect, CreateTicket):
            created = await owner_actions.create_ticket(
                self.session, chat_id=chat_id, text=effect.question, address=effect.place.address,
                company_name=effect.company_name, business_number=effect.business_number,
                ask_log_id=effect.ask_log_id, display_name=effect.display_name or None, policy=self.policy,
                now=self.now)
            return [Reply(created.acknowledgement, ((engine.STATUS,),))]
        if isinstance(effect, AppendToTicket):
            await owner_actions.append_owner_message(self.session, chat_id=chat_id, ticket_id=effect.ticket_id,
                                                     text=effect.text, attachment=effect.attachment, now=self.now)
            return []
        if isinstance(effect, RateTicket):
            await owner_actions.rate_ticket(self.session, chat_id=chat_id, ticket_id=effect.ticket_id,
                                            rating=effect.stars, comment=effect.comment, now=self.now)
            return []
        raise TypeError(f"unknown effect {effect!r}")

    def queue(self, key: str, to: Recipient, reply: Reply) -> None:
        self.rows.append(message_row(to=to, text=reply.text, kind=REPLY_KIND, buttons=reply.buttons or None,
                                     now=self.now))
        self.row_keys.append(key)


async def process(session: AsyncSession, *, channel: str, updates: Sequence[OwnerUpdate], knowledge: Knowledge,
                  policy: SlaPolicy, max_text_chars: int, limits: RateLimits | None = None,
                  now: dt.datetime | None = None) -> Processed:
    """Run claimed ``updates`` (see ``claim``) through the engine, in order per chat; queue every reply. With
    ``limits``, a chat sending faster than its flood limit is warned once, and the rest of its burst dropped."""
    processed = Processed()
    if not updates:
        return processed
    now = now or utcnow()
    chat_ids = await ensure_chats(session, channel=channel, addresses=[u.address for u in updates])
    states = await _lock_states(session, list(chat_ids.values()), now)
    centres = list((await session.execute(_CENTRES)).all())
    run = _Run(session=session, channel=channel, knowledge=knowledge, policy=policy, max_text_chars=max_text_chars,
               now=now, centres_by_id={c.id: c for c in centres}, centres_by_code={c.code: c for c in centres})
    tickets = await ticket_views(session, chat_ids=list(chat_ids.values()), centres=run.centres_by_id, now=now)
    for update_ in updates:
        chat_id = chat_ids[update_.address]
        to = Recipient(chat_id=chat_id, channel=channel, address=update_.address)
        processed.replies.setdefault(update_.key, [])
        flood = await limits.chat_flood(channel, chat_id) if limits is not None else "ok"
        if flood != "ok":
            if flood == "warn":
                run.queue(update_.key, to, Reply(texts.RATE_LIMITED))
            continue
        context = _Context(knowledge=knowledge, centres=run.centres_by_code, tickets=tickets[chat_id],
                           max_text_chars=max_text_chars)
        turn = await in_match_thread(engine.step, states[chat_id], update_.incoming, context)
        replies, applied = await run.carry_out(chat_id, turn)
        if applied:
            states[chat_id] = turn.state
        for reply in replies:
            run.queue(update_.key, to, reply)
        if any(isinstance(o, _TICKET_EFFECTS) for o in turn.outputs):
            tickets.update(await ticket_views(session, chat_ids=[chat_id], centres=run.centres_by_id, now=now))
    await _save_states(session, states, now)
    if run.rows:
        ids = (await session.execute(_QUEUE, run.rows)).scalars().all()
        for key, outbox_id in zip(run.row_keys, ids, strict=True):
            processed.replies[key].append(outbox_id)
    return processed


