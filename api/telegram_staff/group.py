"""Centre staff working from Telegram: their centre's group (claim a ticket from its notice, answer by replying to
the notice, ``/resolve`` or ``/resolve <KB entry id>`` citing the entry the answer came from), linking a group (``/link``) and linking their own account (``/link <code>`` in a private
chat with the bot).

A staff action from Telegram needs the staff member's own proof twice over: their Telegram account is linked to
their staff account (a one-time code from the console), and the group they act in is their centre's linked group
(an admin may act in any centre's group). Re-pointing a centre to another group takes an admin.

``handle`` is called for each claimed update by ``api.channels.telegram``; it only flushes. What it says goes
through the outbox (a reply to the staff member's message) or, for a pressed button, as an ephemeral answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.centers.models import Center
from api.chats.service import Recipient
from api.contract import TELEGRAM, Action
from api.errors import BadRequest, Conflict, Forbidden, HotlineError, NotFound, Unprocessable
from api.outbox.service import enqueue
from api.outbox.delivery import ticket_for_post
from api.staff.models import Staff
from api.telegram_staff import texts
from api.telegram_staff.service import link_group, link_staff_account, staff_by_telegram
from api.tickets import staff_actions

STAFF_KIND = "staff_ack"


@dataclass(frozen=True)
class StaffEvent:
    """One thing a staff member did in Telegram (translated by ``api.channels.telegram``)."""

    kind: Literal["link_account", "link_group", "claim", "reply", "resolve", "bot_added", "other_reply"]
    chat_id: int
    user_id: int | None = None
    message_id: int | None = None  # the staff member's message (answers reply to it)
    replied_to: int | None = None  # the bot's post the message replies to
    text: str = ""  # the reply's body, the link code, the centre code, the KB entry a /resolve cites
    button_id: str = ""  # a pressed button (claim)
    ticket_id: int | None = None  # claim: the ticket of the button


@dataclass
class StaffOutcome:
    actions: list[Action] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)


class NotThisGroup(Forbidden):
    code = "not_this_group"
    detail = texts.NOT_THIS_GROUP


async def acting_staff(session: AsyncSession, *, user_id: int | None, chat_id: int) -> Staff:
    """The linked staff member acting in ``chat_id``, which must be their centre's group (any centre's, for an
    admin); 403 otherwise."""
    if user_id is None:
        raise Forbidden(texts.NOT_LINKED)
    staff = await staff_by_telegram(session, user_id)
    center_id = await session.scalar(select(Center.id).where(Center.telegram_chat_id == chat_id))
    if center_id is None or (staff.role != "admin" and staff.center_id != center_id):
        raise NotThisGroup()
    return staff


def _refusal(exc: HotlineError) -> str:
    if exc.code in ("unlinked_telegram_user",):
        return texts.NOT_LINKED
    if isinstance(exc, NotFound):
        return texts.TICKET_NOT_FOUND
    return exc.detail


async def handle(session: AsyncSession, event: StaffEvent, *, secret: str, now: datetime) -> StaffOutcome:
    outcome = StaffOutcome()
    group = Recipient.telegram(event.chat_id)

    async def say(text: str, *, reply_to: int | None = event.message_id, ticket_id: int | None = None) -> None:
        message = await enqueue(session, to=group, text=text, kind=STAFF_KIND, reply_to=reply_to, ticket_id=ticket_id)
        outcome.outbox_ids.append(message.id)

    try:
        async with session.begin_nested():  # a refusal undoes the action's writes, and only those
            await _act(session, event, secret=secret, now=now, say=say, outcome=outcome)
    except (BadRequest, Conflict, Forbidden, NotFound, Unprocessable) as exc:
        if event.kind == "claim":
            outcome.actions.append(Action(type="answer_button", channel=TELEGRAM, button_id=event.button_id,
                                          text=_refusal(exc), alert=True))
        else:
            await say(_refusal(exc))
    return outcome


async def _act(session: AsyncSession, event: StaffEvent, *, secret: str, now: datetime, say,
               outcome: StaffOutcome) -> None:
    if event.kind == "bot_added":
        await say(texts.ADDED_TO_GROUP, reply_to=None)
    elif event.kind == "link_account":
        if not event.text:
            await say(texts.LINK_USAGE)
            return
        staff = await link_staff_account(session, secret=secret, telegram_user_id=event.user_id, code=event.text,
                                         now=now)
        await say(texts.linked(staff.display_name or staff.username))
    elif event.kind == "link_group":
        center = await link_group(session, telegram_user_id=event.user_id, chat_id=event.chat_id,
                                  center_code=event.text or None)
        await say(texts.group_linked(center.name), reply_to=None)
    elif event.kind == "claim":
        staff = await acting_staff(session, user_id=event.user_id, chat_id=event.chat_id)
        ticket = await staff_actions.claim_ticket(session, staff=staff, ticket_id=event.ticket_id, via="telegram",
                                                  now=now)
        outcome.actions += [Action(type="answer_button", channel=TELEGRAM, button_id=event.button_id,
                                   text=texts.CLAIMED_ALERT),
                            Action(type="clear_buttons", channel=TELEGRAM, address=str(event.chat_id),
                                   message_id=event.replied_to)]
        await say(texts.claimed(name=staff.display_name or staff.username, number=ticket.number), reply_to=None,
                  ticket_id=ticket.id)
    elif event.kind in ("reply", "resolve"):
        if event.kind == "resolve" and event.replied_to is None:
            await say(texts.RESOLVE_HOW)
            return
        ticket_id = await ticket_for_post(session, chat_id=event.chat_id, message_id=event.replied_to)
        if ticket_id is None:
            await say(texts.REPLY_UNKNOWN_POST)
            return
        staff = await acting_staff(session, user_id=event.user_id, chat_id=event.chat_id)
        if event.kind == "reply":
            ticket, _ = await staff_actions.reply_to_ticket(session, staff=staff, ticket_id=ticket_id, body=event.text,
                                                            via="telegram", now=now)
            await say(texts.reply_sent(ticket.number), ticket_id=ticket.id)
        else:
            ticket = await staff_actions.resolve_ticket(session, staff=staff, ticket_id=ticket_id, via="telegram",
                                                        entry_id=event.text or None, now=now)
            await say(texts.resolved(ticket.number, event.text or None), ticket_id=ticket.id)
    elif event.kind == "other_reply":
        await say(texts.REPLY_UNKNOWN_POST)
