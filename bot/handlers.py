"""Telegram handlers: thin adapters from updates to ``bot.conversation`` (owners) and the API (staff groups).

Handler groups:
  -1  every update is claimed through the API first; a duplicate stops here (exactly-once processing). The claim
      of an owner's update also brings the chat's conversation (the turn starts from it without reading it), and
      carries the updates finished before (``bot.completions``: recorded done in the same request);
   0  the one handler for the update: /link, staff actions in groups, the owner conversation in private chats;
   1  the update is finished: it is recorded as done with the next claim (or by a timer when none comes).
One error handler: when the API is unreachable the update is kept and handled again later (the owner is told
once); any other failure is logged and the user gets a short apology.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field

from telegram import Message, Update
from telegram.constants import ChatAction, ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (Application, ApplicationHandlerStop, CallbackQueryHandler, ChatMemberHandler,
                          CommandHandler, ContextTypes, MessageHandler, TypeHandler, filters)

from bot import texts
from bot.client import ApiClient, ApiError, ApiUnavailable
from bot.completions import Completions
from bot.config import BotSettings
from bot.conversation import ChatRateLimiter, ChatSnapshot, Conversation, Incoming, Reply
from bot.telegram_io import send_replies, send_reply

log = logging.getLogger(__name__)

ATTACHMENT_TYPES = ("photo", "document", "voice", "audio", "video", "video_note", "sticker", "animation",
                    "location", "contact")


@dataclass
class Hotline:
    """What the handlers share, kept in ``application.bot_data["hotline"]``."""

    settings: BotSettings
    api: ApiClient
    conversation: Conversation
    completions: Completions
    claimer: str = field(default_factory=lambda: f"bot-{secrets.token_hex(8)}")
    deferred: dict[int, int] = field(default_factory=dict)  # update id -> times deferred
    tasks: set[asyncio.Task] = field(default_factory=set)

    @classmethod
    def create(cls, settings: BotSettings, api: ApiClient | None = None) -> "Hotline":
        api = api or ApiClient.from_settings(settings)
        limiter = ChatRateLimiter(settings.chat_rate_limit, settings.chat_rate_window)
        return cls(settings=settings, api=api,
                   conversation=Conversation(api, max_text_chars=settings.max_text_chars, limiter=limiter),
                   completions=Completions(api, delay=settings.completion_delay))


def hotline(context: ContextTypes.DEFAULT_TYPE) -> Hotline:
    return context.application.bot_data["hotline"]


# --- exactly once ------------------------------------------------------------------------------------------------


CLAIM = "hotline_claim"  # the context attribute holding this update's claim (a context lives for one update)


async def claim_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    h = hotline(context)
    if h.completions.finished(update.update_id):  # delivered again after this process handled it
        log.info("update %s was already processed here; skipped", update.update_id)
        raise ApplicationHandlerStop
    chat = update.effective_chat
    owner_chat = chat.id if chat is not None and chat.type == chat.PRIVATE else None
    completed = h.completions.take()
    try:
        claim = await h.api.claim_update(update.update_id, h.claimer, chat_id=owner_chat, completed=completed)
    except BaseException:
        h.completions.failed(completed)
        raise
    h.completions.sent(completed)
    if not claim["claimed"]:
        log.info("update %s was already processed; skipped", update.update_id)
        raise ApplicationHandlerStop
    setattr(context, CLAIM, claim)


def claimed_snapshot(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> ChatSnapshot | None:
    """The chat's conversation as the claim of this update found it (None: not asked for, another chat)."""
    claim = getattr(context, CLAIM, None)
    conversation = claim.get("conversation") if claim else None
    if not conversation or conversation.get("chat_id") != chat_id:
        return None
    return ChatSnapshot(state=conversation.get("state") or {}, version=conversation["version"],
                        open_ticket=claim.get("open_ticket"))


async def complete_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    h = hotline(context)
    h.deferred.pop(update.update_id, None)
    # Recorded with the next claim, or by the timer; until then a redelivery is recognised here.
    h.completions.add(update.update_id)


# --- owners (private chats) --------------------------------------------------------------------------------------


def _display_name(update: Update) -> str:
    user = update.effective_user
    return user.full_name if user else ""


def incoming_from_message(update: Update) -> Incoming:
    message = update.effective_message
    chat_id = update.effective_chat.id
    common = {"display_name": _display_name(update), "key": str(update.update_id)}
    if message.text is not None:
        return Incoming.message(chat_id, message.text, **common)
    for kind in ATTACHMENT_TYPES:
        value = getattr(message, kind, None)
        if not value:
            continue
        item = value[-1] if isinstance(value, (list, tuple)) else value  # photos: the largest size last
        attachment = {"type": kind}
        for attr in ("file_id", "file_unique_id", "file_name", "mime_type", "file_size", "emoji"):
            if getattr(item, attr, None) is not None:
                attachment[attr] = getattr(item, attr)
        return Incoming(chat_id=chat_id, kind="attachment", text=message.caption or "", attachment=attachment,
                        **common)
    return Incoming(chat_id=chat_id, kind="attachment", attachment={"type": "other"}, **common)


class Typing:
    """"typing…" in the owner's chat while a question is handled, sent only when the answer is not there within
    ``delay`` seconds (a quick answer needs no indicator, and saves a Bot API call). Use as ``async with``."""

    def __init__(self, bot, chat_id: int, delay: float):
        self.bot, self.chat_id, self.delay = bot, chat_id, delay
        self._task: asyncio.Task | None = None
        self._sending = False

    async def _send(self) -> None:
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        self._sending = True
        try:
            await self.bot.send_chat_action(self.chat_id, ChatAction.TYPING)
        except TelegramError:
            pass

    async def __aenter__(self) -> "Typing":
        if self.delay <= 0:
            await self._send()
        else:
            self._task = asyncio.get_running_loop().create_task(self._send())
        return self

    async def __aexit__(self, *exc) -> None:
        if self._task is None:
            return
        if self._sending:
            await self._task  # under way: let it arrive before the answer
        else:
            self._task.cancel()


async def owner_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    h = hotline(context)
    incoming = incoming_from_message(update)
    snapshot = claimed_snapshot(context, incoming.chat_id)
    if incoming.kind == "text" and incoming.text.strip():
        async with Typing(context.bot, incoming.chat_id, h.settings.typing_delay):
            replies = await h.conversation.handle(incoming, snapshot=snapshot)
    else:
        replies = await h.conversation.handle(incoming, snapshot=snapshot)
    await send_replies(context.bot, incoming.chat_id, replies)


async def owner_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    h = hotline(context)
    query = update.callback_query
    chat = update.effective_chat
    try:
        await query.answer()
    except TelegramError:
        pass
    if chat is not None and chat.type != chat.PRIVATE:
        return  # owners' buttons live in private chats only
    chat_id = chat.id if chat is not None else query.from_user.id
    incoming = Incoming(chat_id=chat_id, kind="button", data=query.data or "", display_name=_display_name(update),
                        key=str(update.update_id))
    replies = await h.conversation.handle(incoming, snapshot=claimed_snapshot(context, chat_id))
    if query.message is not None and isinstance(query.message, Message) and query.message.reply_markup:
        try:  # a used keyboard goes away, so the same choice is not made twice
            await query.edit_message_reply_markup(reply_markup=None)
        except TelegramError:
            pass
    await send_replies(context.bot, chat_id, replies)


# --- linking -----------------------------------------------------------------------------------------------------


async def link_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    h = hotline(context)
    chat, user = update.effective_chat, update.effective_user
    args = context.args or []
    if chat.type == chat.PRIVATE:
        if not args:
            await send_reply(context.bot, chat.id, Reply(texts.STAFF_LINK_USAGE))
            return
        try:
            linked = await h.api.link_staff(user.id, args[0])
        except ApiUnavailable:
            raise
        except ApiError as exc:
            await send_reply(context.bot, chat.id, Reply(exc.detail))
            return
        await send_reply(context.bot, chat.id, Reply(texts.STAFF_LINKED.format(name=linked["display_name"])))
        return
    try:
        linked = await h.api.link_group(user.id, chat.id, args[0] if args else None)
    except ApiUnavailable:
        raise
    except ApiError as exc:
        text = texts.STAFF_NOT_LINKED if exc.code == "unlinked_telegram_user" else exc.detail
        await send_reply(context.bot, chat.id, Reply(text), reply_to=update.effective_message.message_id)
        return
    await send_reply(context.bot, chat.id, Reply(texts.GROUP_LINKED.format(center=linked["center"]["name"])))


async def bot_added_to_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    change = update.my_chat_member
    if change is None or change.chat.type == change.chat.PRIVATE:
        return
    if change.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR) and \
            change.old_chat_member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        await send_reply(context.bot, change.chat.id,
                         Reply("안녕하세요! 이 대화방을 센터 상담방으로 쓰려면 텔레그램 계정이 연결된 상담원이 /link 를 "
                               "보내 주세요. 새 문의가 오면 이곳에 알려 드리고, 알림에 '답장'하면 대표님께 전달돼요."))


# --- staff (groups) ----------------------------------------------------------------------------------------------


def _staff_error_text(exc: ApiError) -> str:
    if exc.code in ("unlinked_telegram_user", "acting_staff_required"):
        return texts.STAFF_NOT_LINKED
    if exc.status == 404:
        return texts.STAFF_TICKET_NOT_FOUND
    return exc.detail


async def staff_claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    h = hotline(context)
    query = update.callback_query
    ticket_id = int((query.data or "").split(":")[1])
    try:
        ticket = await h.api.staff_claim(query.from_user.id, ticket_id)
    except ApiUnavailable:
        raise
    except ApiError as exc:
        try:
            await query.answer(_staff_error_text(exc), show_alert=True)
        except TelegramError:
            pass
        return
    name = (ticket.get("assignee") or {}).get("display_name") or query.from_user.full_name
    try:
        await query.answer("담당자로 지정되었어요.")
    except TelegramError:
        pass
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        pass
    await send_reply(context.bot, update.effective_chat.id,
                     Reply(texts.STAFF_CLAIMED.format(name=name, number=ticket["number"])))


async def _ticket_of_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int | None:
    """The ticket whose post (by this bot) the message replies to; tells the sender when it is not one."""
    message = update.effective_message
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return None
    ticket_id = await hotline(context).api.ticket_for_post(update.effective_chat.id, replied.message_id)
    if ticket_id is None:
        await send_reply(context.bot, update.effective_chat.id, Reply(texts.STAFF_REPLY_UNKNOWN_POST),
                         reply_to=message.message_id)
    return ticket_id


async def _staff_action(update: Update, context: ContextTypes.DEFAULT_TYPE, ticket_id: int, action,
                        done_text) -> None:
    """Run a staff member's action on a ticket through the API and answer in the group: the API's refusal
    (unlinked account, another centre, already resolved …) or ``done_text(result)``."""
    message = update.effective_message
    try:
        result = await action(update.effective_user.id, ticket_id)
    except ApiUnavailable:
        raise
    except ApiError as exc:
        text = _staff_error_text(exc)
    else:
        text = done_text(result)
    await send_reply(context.bot, update.effective_chat.id, Reply(text), reply_to=message.message_id)


async def staff_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ticket_id = await _ticket_of_reply(update, context)
    if ticket_id is None:
        return
    body = update.effective_message.text

    async def reply(telegram_user_id: int, ticket: int):
        return await hotline(context).api.staff_reply(telegram_user_id, ticket, body)

    await _staff_action(update, context, ticket_id, reply,
                        lambda result: texts.STAFF_REPLY_SENT.format(number=result["ticket"]["number"]))


async def staff_resolve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message.reply_to_message is None:
        await send_reply(context.bot, update.effective_chat.id,
                         Reply("답변 완료로 처리할 문의 알림에 '답장'으로 /resolve 를 보내 주세요."),
                         reply_to=message.message_id)
        return
    ticket_id = await _ticket_of_reply(update, context)
    if ticket_id is None:
        return
    await _staff_action(update, context, ticket_id, hotline(context).api.staff_resolve,
                        lambda ticket: f"✅ {ticket['number']} 문의를 답변 완료로 처리했어요. "
                                       "대표님께 만족도 평가를 요청합니다.")


# --- errors ------------------------------------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler. API unreachable: keep the update and handle it again later (tell the user once);
    anything else: log it, apologise, and let the update be recorded as done (it would fail again)."""
    error = context.error
    if not isinstance(update, Update):
        log.error("error outside an update: %s", error, exc_info=error)
        return
    h = hotline(context)
    chat = update.effective_chat
    if isinstance(error, ApiUnavailable):
        times = h.deferred.get(update.update_id, 0)
        delays = h.settings.deferred_retry_delays
        if times >= len(delays) * 4:
            log.error("giving up on update %s after %s tries: %s", update.update_id, times, error)
            h.deferred.pop(update.update_id, None)
            raise ApplicationHandlerStop
        h.deferred[update.update_id] = times + 1
        delay = delays[min(times, len(delays) - 1)]
        log.warning("API unavailable (%s); update %s will be handled again in %.0f s", error, update.update_id, delay)
        if times == 0 and chat is not None:
            try:
                await send_reply(context.bot, chat.id, Reply(texts.UNAVAILABLE))
            except TelegramError:
                pass
        task = asyncio.get_running_loop().create_task(_handle_later(context.application, update, delay))
        h.tasks.add(task)
        task.add_done_callback(h.tasks.discard)
        raise ApplicationHandlerStop
    log.error("error while handling update %s", update.update_id, exc_info=error)
    if chat is not None and not isinstance(error, TelegramError):
        try:
            await send_reply(context.bot, chat.id, Reply(texts.SOMETHING_WRONG))
        except TelegramError:
            pass


async def _handle_later(application: Application, update: Update, delay: float) -> None:
    await asyncio.sleep(delay)
    await application.process_update(update)


# --- registration ------------------------------------------------------------------------------------------------


def register(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    application.add_handler(TypeHandler(Update, claim_update), group=-1)
    application.add_handlers([
        CommandHandler("link", link_command),
        CommandHandler("resolve", staff_resolve, filters=groups),
        CallbackQueryHandler(staff_claim, pattern=r"^claim:\d+$"),
        MessageHandler(groups & filters.REPLY & filters.TEXT & ~filters.COMMAND, staff_reply),
        ChatMemberHandler(bot_added_to_group, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(private & filters.UpdateType.MESSAGE, owner_message),
        CallbackQueryHandler(owner_button),
    ], group=0)
    application.add_handler(TypeHandler(Update, complete_update), group=1)
    application.add_error_handler(on_error)
