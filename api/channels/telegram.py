"""The Telegram channel, API side: what a Telegram update means, and processing a batch of them in one transaction.

The bot process forwards Telegram's updates as they are (a ``getUpdates`` batch, or one webhook update); this
module reads them with python-telegram-bot's own types and turns each into an owner's event for the conversation
engine (a private chat), a staff member's action (``api.telegram_staff.group``), or nothing (edits, joins of other
members, …). Every update is claimed, whatever it is, so none is processed twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Chat, Message, Update
from telegram.constants import ChatMemberStatus

from api.contract import TELEGRAM, Action, UpdateResult
from api.conversations import runner
from api.conversations.model import Attachment, Incoming, Press, typed
from api.db import storable, utcnow
from api.outbox.delivery import lease_new
from api.ratelimits import RateLimits
from api.sla import SlaPolicy
from api.telegram_staff import group as staff_group
from api.telegram_staff.group import StaffEvent

ATTACHMENT_TYPES = ("photo", "document", "voice", "audio", "video", "video_note", "sticker", "animation",
                    "location", "contact")
ATTACHMENT_FIELDS = ("file_id", "file_unique_id", "file_name", "mime_type", "file_size", "emoji")
MAX_BATCH = 100


@dataclass
class Meaning:
    """What one update is: an owner's event, a staff member's action, or nothing; plus what to acknowledge."""

    key: str
    owner: runner.OwnerUpdate | None = None
    staff: StaffEvent | None = None
    actions: list[Action] = field(default_factory=list)


def _attachment(message: Message) -> Attachment:
    for kind in ATTACHMENT_TYPES:
        value = getattr(message, kind, None)
        if not value:
            continue
        item = value[-1] if isinstance(value, (list, tuple)) else value  # photos: the largest size last
        meta = {attr: getattr(item, attr) for attr in ATTACHMENT_FIELDS if getattr(item, attr, None) is not None}
        return Attachment(kind=kind, meta=meta, caption=message.caption or "")
    return Attachment(kind="other", caption=message.caption or "")


def _owner(key: str, chat: Chat, message: Message | None, incoming_event, update: Update) -> runner.OwnerUpdate:
    user = update.effective_user
    at = message.date if message is not None and message.date else utcnow()
    return runner.OwnerUpdate(key=key, address=str(chat.id),
                              incoming=Incoming(event=incoming_event, at=at,
                                                display_name=user.full_name if user else ""))


def understand(raw: dict[str, Any]) -> Meaning:
    """The meaning of one raw update (``ValueError`` when it is not a Telegram update at all)."""
    update = Update.de_json(raw, None)
    if update is None:
        raise ValueError("not a Telegram update")
    key = str(update.update_id)
    query = update.callback_query
    if query is not None:
        message = query.message if isinstance(query.message, Message) else None
        chat = message.chat if message is not None else None
        if chat is None or chat.type == Chat.PRIVATE:
            address = chat.id if chat is not None else query.from_user.id
            owner_chat = chat or Chat(id=address, type=Chat.PRIVATE)
            actions = [Action(type="answer_button", channel=TELEGRAM, button_id=query.id)]
            if message is not None and message.reply_markup:  # a used keyboard goes: the choice is not made twice
                actions.append(Action(type="clear_buttons", channel=TELEGRAM, address=str(address),
                                      message_id=message.message_id))
            return Meaning(key, owner=_owner(key, owner_chat, None, Press(query.data or ""), update), actions=actions)
        data = query.data or ""
        ticket_id = int(data.split(":")[1]) if data.startswith("claim:") and data[6:].isdigit() else None
        if ticket_id is None:
            return Meaning(key, actions=[Action(type="answer_button", channel=TELEGRAM, button_id=query.id)])
        return Meaning(key, staff=StaffEvent(kind="claim", chat_id=chat.id, user_id=query.from_user.id,
                                             button_id=query.id, ticket_id=ticket_id,
                                             replied_to=message.message_id))
    change = update.my_chat_member
    if change is not None:
        joined = (change.chat.type != Chat.PRIVATE
                  and change.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)
                  and change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED))
        return Meaning(key, staff=StaffEvent(kind="bot_added", chat_id=change.chat.id) if joined else None)
    message = update.message
    if message is None:
        return Meaning(key)  # edits, channel posts, polls …: nothing to do
    chat = message.chat
    user = message.from_user
    said = typed(message.text) if message.text is not None else None
    if chat.type == Chat.PRIVATE:
        if said is not None and getattr(said, "name", None) == "link":
            return Meaning(key, staff=StaffEvent(kind="link_account", chat_id=chat.id, user_id=user.id if user else None,
                                                 message_id=message.message_id, text=said.args.split(" ")[0]))
        event = said if said is not None else _attachment(message)
        return Meaning(key, owner=_owner(key, chat, message, event, update))
    # a group: staff at work
    common = {"chat_id": chat.id, "user_id": user.id if user else None, "message_id": message.message_id}
    replied = message.reply_to_message
    replied_to = replied.message_id if replied is not None else None
    if said is not None and getattr(said, "name", None) == "link":
        return Meaning(key, staff=StaffEvent(kind="link_group", text=said.args.split(" ")[0], **common))
    if said is not None and getattr(said, "name", None) == "resolve":
        return Meaning(key, staff=StaffEvent(kind="resolve", replied_to=replied_to, text=said.args.split(" ")[0],
                                             **common))
    if message.text and replied is not None and not message.text.startswith("/"):
        if replied.from_user is not None and replied.from_user.is_bot:
            return Meaning(key, staff=StaffEvent(kind="reply", replied_to=replied_to, text=message.text, **common))
    return Meaning(key)  # the group's own conversation


def _understood(raw: dict[str, Any]) -> Meaning:
    try:
        return understand(storable(raw))
    except (ValueError, TypeError, KeyError, AttributeError):  # not what Telegram sends: claimed, nothing done
        return Meaning(str(raw["update_id"]))


async def process_updates(session: AsyncSession, *, raw_updates: Sequence[dict[str, Any]], knowledge: runner.Knowledge,
                          policy: SlaPolicy, max_text_chars: int, secret: str, lease_seconds: float | None,
                          limits: RateLimits | None = None, now: dt.datetime | None = None) -> UpdateResult:
    """Process a batch of raw updates in the caller's transaction: each claimed once, the owners' in order per
    chat, the staff's in order. With ``lease_seconds`` the messages queued are leased to the caller at once (those
    of chats with nothing older pending) for immediate delivery; the others wait for the outbox drainers."""
    now = now or utcnow()
    meanings = [_understood(raw) for raw in raw_updates]
    taken = await runner.claim(session, channel=TELEGRAM, keys=[m.key for m in meanings], now=now)
    fresh = [m for m in meanings if m.key in taken]
    processed = await runner.process(session, channel=TELEGRAM, updates=[m.owner for m in fresh if m.owner],
                                     knowledge=knowledge, policy=policy, max_text_chars=max_text_chars,
                                     limits=limits, now=now)
    outbox_ids = processed.outbox_ids
    actions = [a for m in fresh for a in m.actions]
    for meaning in fresh:
        if meaning.staff is not None:
            outcome = await staff_group.handle(session, meaning.staff, secret=secret, now=now)
            outbox_ids += outcome.outbox_ids
            actions += outcome.actions
    messages = await lease_new(session, ids=outbox_ids, lease_seconds=lease_seconds, now=now) if lease_seconds else []
    return UpdateResult(processed=tuple(int(m.key) for m in fresh),
                        duplicates=tuple(int(m.key) for m in meanings if m.key not in taken),
                        messages=tuple(messages), actions=tuple(actions))
