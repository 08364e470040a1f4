"""Talking to the Telegram Bot API: outbox records become messages (keyboards, replies in staff groups), refusals
become ``SendFailed`` with the right retry policy, and the API's ephemeral actions are carried out."""

from __future__ import annotations

import datetime as dt
import logging
import warnings

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from api.contract import Action, Keyboard, OutboxRecord
from bot.delivery import ChannelUnreachable, SendFailed, Sender

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# httpx errors raised before the request left this machine: Telegram has not seen it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def retry_after_seconds(exc: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds (an int or a timedelta, depending on PTB's settings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns that the int will become a timedelta; both are handled
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value or 0)


def keyboard(rows: Keyboard) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.text, url=b.url) if b.url
                                  else InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
                                 for row in rows])


def never_sent(exc: BaseException) -> bool:
    """The Bot API call failed before the request was sent (PTB keeps the httpx error as the cause)."""
    return isinstance(exc.__cause__, NOT_SENT)


def sender(bot: Bot) -> Sender:
    """Sends outbox records to Telegram.

    A request that never left (Telegram unreachable) is ``ChannelUnreachable``: not one of the message's tries.
    A request Telegram received but did not answer in time may well have been delivered (Telegram does the work
    whether or not anyone waits for the answer), so it counts as sent, without a message id, and a warning is
    logged: sending it again would repeat it to the owner each time Telegram is slow."""

    async def send(record: OutboxRecord) -> int | None:
        try:
            sent = await bot.send_message(
                int(record.address), record.text, reply_markup=keyboard(record.buttons),
                link_preview_options=NO_PREVIEW,
                reply_parameters=ReplyParameters(message_id=record.reply_to, allow_sending_without_reply=True)
                if record.reply_to else None)
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
                raise ChannelUnreachable(f"Telegram unreachable: {exc.__cause__!r}") from exc
            if isinstance(exc, TimedOut) and isinstance(exc.__cause__, httpx.ReadTimeout):
                log.warning("outbox %s to %s: Telegram took the message but did not answer in time; it is not sent "
                            "again (it was most likely delivered)", record.id, record.address)
                return None
            raise SendFailed(f"network: {exc}") from exc
        return sent.message_id

    return send


async def perform(bot: Bot, action: Action) -> None:
    """Answer a pressed button or clear a used keyboard; best effort (nothing is lost when one fails)."""
    try:
        if action.type == "answer_button":
            await bot.answer_callback_query(action.button_id, text=action.text or None, show_alert=action.alert)
        elif action.type == "clear_buttons" and action.message_id is not None:
            await bot.edit_message_reply_markup(chat_id=int(action.address), message_id=action.message_id,
                                                reply_markup=None)
    except TelegramError as exc:
        log.info("telegram %s not done: %s", action.type, exc)
