"""Talking to the Telegram Bot API: keyboards, replies with a short retry, and outbox sends with error mapping."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.conversation import Button, Reply
from bot.outbox import OutgoingMessage, SendFailed, TelegramUnreachable

log = logging.getLogger(__name__)

# A reply in a conversation waits at most this long for Telegram's flood control before giving up.
MAX_REPLY_WAIT = 30.0
REPLY_ATTEMPTS = 3
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def retry_after_seconds(exc: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds (an int or a timedelta, depending on PTB's settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns that the int will become a timedelta; both are handled
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value or 0)


def keyboard(rows: list[list[Button]] | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in rows])


def keyboard_from_json(rows: list | None) -> InlineKeyboardMarkup | None:
    """The outbox's ``[[{"text", "callback_data"}]]`` rows (``url`` buttons too)."""
    if not rows:
        return None
    built = []
    for row in rows:
        built_row = []
        for b in row:
            if b.get("url"):
                built_row.append(InlineKeyboardButton(b["text"], url=b["url"]))
            else:
                built_row.append(InlineKeyboardButton(b["text"], callback_data=b.get("callback_data") or b.get("data")))
        built.append(built_row)
    return InlineKeyboardMarkup(built)


async def send_reply(bot: Bot, chat_id: int, reply: Reply, *, reply_to: int | None = None) -> Message | None:
    """Send one conversation reply; waits out a short flood-control pause and retries a network error twice."""
    for attempt in range(1, REPLY_ATTEMPTS + 1):
        try:
            return await bot.send_message(
                chat_id, reply.text, reply_markup=keyboard(reply.buttons), link_preview_options=NO_PREVIEW,
                reply_parameters=ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                if reply_to else None)
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            if wait > MAX_REPLY_WAIT or attempt == REPLY_ATTEMPTS:
                raise
            await asyncio.sleep(wait)
        except TimedOut:
            raise  # it may have been delivered: do not send it twice
        except NetworkError:
            if attempt == REPLY_ATTEMPTS:
                raise
            await asyncio.sleep(0.5 * attempt)
    return None


async def send_replies(bot: Bot, chat_id: int, replies: list[Reply], *, reply_to: int | None = None) -> None:
    for reply in replies:
        await send_reply(bot, chat_id, reply, reply_to=reply_to)


# httpx errors raised before the request left this machine: Telegram has not seen it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def never_sent(exc: BaseException) -> bool:
    """The Bot API call failed before the request was sent (PTB keeps the httpx error as the cause)."""
    return isinstance(exc.__cause__, NOT_SENT)


def outbox_sender(bot: Bot):
    """The outbox drainer's sender: Telegram's refusals become ``SendFailed`` with the right retry policy.

    A request that never left (Telegram unreachable) is ``TelegramUnreachable``: not one of the message's tries.
    A request Telegram received but did not answer in time may well have been delivered (Telegram does the work
    whether or not anyone waits for the answer), so it is not sent again: it counts as sent, without a message
    id, and a warning is logged. Sending it again would repeat it to the owner each time Telegram is slow."""

    async def send(message: OutgoingMessage) -> int | None:
        try:
            sent = await bot.send_message(message.chat_id, message.text,
                                          reply_markup=keyboard_from_json(message.buttons),
                                          link_preview_options=NO_PREVIEW)
        except RetryAfter as exc:
            raise SendFailed(f"Telegram flood control: {exc}", retry_after=retry_after_seconds(exc)) from exc
        except ChatMigrated as exc:
            raise SendFailed(f"the group moved to chat {exc.new_chat_id}: update the centre's group",
                             permanent=True) from exc
        except (Forbidden, InvalidToken) as exc:
            raise SendFailed(f"Telegram refused: {exc}", permanent=True) from exc
        except BadRequest as exc:
            raise SendFailed(f"Telegram refused the message: {exc}", permanent=True) from exc
        except NetworkError as exc:  # includes TimedOut and 5xx (e.g. 502 Bad Gateway)
            if never_sent(exc):
                raise TelegramUnreachable(f"Telegram unreachable: {exc.__cause__!r}") from exc
            if isinstance(exc, TimedOut) and isinstance(exc.__cause__, httpx.ReadTimeout):
                log.warning("outbox %s to %s: Telegram took the message but did not answer in time; it is not sent "
                            "again (it was most likely delivered)", message.id, message.chat_id)
                return None
            raise SendFailed(f"network: {exc}") from exc
        return sent.message_id

    return send
