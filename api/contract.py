"""What the API and the channel adapters (``bot/``, and any other process that delivers messages) agree on.

Standard library only, so an adapter can import it without the API's dependencies:

- **Button data**: what a button carries back when it is pressed (Telegram ``callback_data``, KakaoTalk
  ``extra``, the web chat's ``data`` attribute). ``encode`` and ``decode`` are the only code that spells or reads
  it; nothing else parses these strings. Telegram allows 64 bytes, and every encoding here stays far below.
- **Outbox records**: an outgoing message as the API hands it to an adapter for delivery (``OutboxRecord``), and
  the ephemeral actions an update's processing asks the adapter to perform (``Action``).
- **Shared constants**: the channels, Telegram's limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# --- constants ---------------------------------------------------------------------------------------------------

TELEGRAM = "telegram"
KAKAO = "kakao"
WEB = "web"
LOCAL = "local"  # ``hotline chat`` in a terminal
CHANNELS = (TELEGRAM, KAKAO, WEB, LOCAL)

MAX_BUTTON_DATA_BYTES = 64  # Telegram's limit for callback_data
TELEGRAM_MAX_TEXT = 4096  # one Telegram message
MAX_BUTTON_TEXT = 64


# --- button data -------------------------------------------------------------------------------------------------
# Owner buttons refer to the chat's recent questions by ``ref``, a small number the conversation gives each
# question it keeps (not a database id), and to tickets by their id.


@dataclass(frozen=True)
class Feedback:
    """👍 / 👎 on an answer."""

    ref: int
    helpful: bool


@dataclass(frozen=True)
class Pick:
    """One of a clarify's candidates."""

    ref: int
    index: int


@dataclass(frozen=True)
class Human:
    """Talk to a person about question ``ref`` (None: no question yet)."""

    ref: int | None = None


@dataclass(frozen=True)
class Place:
    """One of the places offered for an ambiguous address (``index``), or the place given last time (None)."""

    index: int | None = None


@dataclass(frozen=True)
class Skip:
    """Skip an optional step of the escalation."""

    step: Literal["company", "bizno"]


@dataclass(frozen=True)
class Simple:
    """A button with no argument."""

    what: Literal["submit", "change_place", "cancel", "new_question", "status", "resume", "append", "no_append",
                  "ask_unparsed", "help"]


@dataclass(frozen=True)
class Rate:
    """An owner's 1–5 rating of a resolved ticket."""

    ticket_id: int
    stars: int


@dataclass(frozen=True)
class Comment:
    """The owner wants to add a comment to their rating of ``ticket_id``."""

    ticket_id: int


@dataclass(frozen=True)
class Claim:
    """A centre's staff member takes the ticket (staff group notice)."""

    ticket_id: int


ButtonData = Feedback | Pick | Human | Place | Skip | Simple | Rate | Comment | Claim

_SIMPLE_CODES = {"submit": "submit", "change_place": "readdr", "cancel": "cancel", "new_question": "newq",
                 "status": "status", "resume": "resume", "append": "ap:y", "no_append": "ap:n",
                 "ask_unparsed": "askx", "help": "help"}
_SIMPLE_BY_CODE = {v: k for k, v in _SIMPLE_CODES.items()}
_SKIP_CODES = {"company": "skip:company", "bizno": "skip:bizno"}
_MAX_INT = 2**63 - 1


def encode(data: ButtonData) -> str:
    """The string a button carries (at most ``MAX_BUTTON_DATA_BYTES`` bytes)."""
    match data:
        case Feedback(ref, helpful):
            out = f"fb:{'up' if helpful else 'down'}:{ref}"
        case Pick(ref, index):
            out = f"pick:{ref}:{index}"
        case Human(ref):
            out = "human" if ref is None else f"human:{ref}"
        case Place(index):
            out = "addr:prev" if index is None else f"addr:{index}"
        case Skip(step):
            out = _SKIP_CODES[step]
        case Simple(what):
            out = _SIMPLE_CODES[what]
        case Rate(ticket_id, stars):
            out = f"rate:{ticket_id}:{stars}"
        case Comment(ticket_id):
            out = f"ratec:{ticket_id}"
        case Claim(ticket_id):
            out = f"claim:{ticket_id}"
        case _:
            raise TypeError(f"not button data: {data!r}")
    if len(out.encode()) > MAX_BUTTON_DATA_BYTES:
        raise ValueError(f"button data over {MAX_BUTTON_DATA_BYTES} bytes: {out!r}")
    return out


def _int(text: str, *, low: int = 0, high: int = _MAX_INT) -> int | None:
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if low <= value <= high else None


def decode(raw: str | None) -> ButtonData | None:
    """The button's meaning, or None for anything this version does not know (an old or forged button)."""
    if not raw or len(raw.encode(errors="replace")) > MAX_BUTTON_DATA_BYTES:
        return None
    if raw in _SIMPLE_BY_CODE:
        return Simple(_SIMPLE_BY_CODE[raw])  # type: ignore[arg-type]
    for step, code in _SKIP_CODES.items():
        if raw == code:
            return Skip(step)  # type: ignore[arg-type]
    head, _, rest = raw.partition(":")
    parts = rest.split(":") if rest else []
    if head == "fb" and len(parts) == 2 and parts[0] in ("up", "down"):
        ref = _int(parts[1])
        return None if ref is None else Feedback(ref, parts[0] == "up")
    if head == "pick" and len(parts) == 2:
        ref, index = _int(parts[0]), _int(parts[1], high=99)
        return None if ref is None or index is None else Pick(ref, index)
    if head == "human":
        if not parts:
            return Human()
        ref = _int(parts[0]) if len(parts) == 1 else None
        return None if ref is None else Human(ref)
    if head == "addr" and len(parts) == 1:
        if parts[0] == "prev":
            return Place()
        index = _int(parts[0], high=99)
        return None if index is None else Place(index)
    if head == "rate" and len(parts) == 2:
        ticket, stars = _int(parts[0], low=1), _int(parts[1], low=1, high=5)
        return None if ticket is None or stars is None else Rate(ticket, stars)
    if head == "ratec" and len(parts) == 1:
        ticket = _int(parts[0], low=1)
        return None if ticket is None else Comment(ticket)
    if head == "claim" and len(parts) == 1:
        ticket = _int(parts[0], low=1)
        return None if ticket is None else Claim(ticket)
    return None


# --- outbox records ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """One button of an outgoing message: ``data`` (see ``encode``) or a link (``url``)."""

    text: str
    data: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"text": self.text}
        if self.data is not None:
            out["data"] = self.data
        if self.url is not None:
            out["url"] = self.url
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "Button":
        return cls(text=str(value["text"]), data=value.get("data"), url=value.get("url"))


Keyboard = tuple[tuple[Button, ...], ...]


def keyboard_to_json(rows: Keyboard | None) -> list[list[dict[str, str]]] | None:
    return [[b.to_json() for b in row] for row in rows] if rows else None


def keyboard_from_json(rows: list | None) -> Keyboard:
    return tuple(tuple(Button.from_json(b) for b in row) for row in rows or ())


@dataclass(frozen=True)
class OutboxRecord:
    """One outgoing message, leased to the adapter that delivers it.

    ``address`` is the chat as the channel knows it (a Telegram chat id as text, a KakaoTalk botUserKey, …);
    ``reply_to`` a channel message id to reply to (staff groups); ``lease_token`` proves the lease when the adapter
    reports the message sent or failed."""

    id: int
    channel: str
    address: str
    chat_id: int
    text: str
    kind: str
    buttons: Keyboard = ()
    ticket_id: int | None = None
    reply_to: int | None = None
    lease_token: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "address": self.address, "chat_id": self.chat_id,
                "text": self.text, "kind": self.kind, "buttons": keyboard_to_json(self.buttons),
                "ticket_id": self.ticket_id, "reply_to": self.reply_to, "lease_token": self.lease_token}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "OutboxRecord":
        return cls(id=int(value["id"]), channel=str(value["channel"]), address=str(value["address"]),
                   chat_id=int(value["chat_id"]), text=str(value["text"]), kind=str(value["kind"]),
                   buttons=keyboard_from_json(value.get("buttons")), ticket_id=value.get("ticket_id"),
                   reply_to=value.get("reply_to"), lease_token=value.get("lease_token"))


# --- ephemeral actions -------------------------------------------------------------------------------------------
# What processing an update asks of the adapter besides messages: answers to a pressed button and the removal of a
# used keyboard. They are not stored: they only make sense at once, and losing one loses no content.


@dataclass(frozen=True)
class Action:
    """``answer_button``: acknowledge a pressed button (``button_id``: Telegram's callback query id), with an
    optional short ``text`` (``alert``: in a dialog). ``clear_buttons``: remove the keyboard of the channel message
    ``message_id`` in ``address``."""

    type: Literal["answer_button", "clear_buttons"]
    channel: str
    address: str = ""
    button_id: str = ""
    message_id: int | None = None
    text: str = ""
    alert: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "channel": self.channel, "address": self.address, "button_id": self.button_id,
                "message_id": self.message_id, "text": self.text, "alert": self.alert}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "Action":
        return cls(type=value["type"], channel=value["channel"], address=value.get("address") or "",
                   button_id=value.get("button_id") or "", message_id=value.get("message_id"),
                   text=value.get("text") or "", alert=bool(value.get("alert")))


@dataclass(frozen=True)
class UpdateResult:
    """The API's answer to a batch of channel updates: what to deliver now and what to do."""

    processed: tuple[int, ...] = ()  # update ids processed now
    duplicates: tuple[int, ...] = ()  # update ids processed before (nothing to do)
    messages: tuple[OutboxRecord, ...] = ()  # leased to the caller: deliver in order, then report
    actions: tuple[Action, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"processed": list(self.processed), "duplicates": list(self.duplicates),
                "messages": [m.to_json() for m in self.messages], "actions": [a.to_json() for a in self.actions]}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> "UpdateResult":
        return cls(processed=tuple(value.get("processed") or ()), duplicates=tuple(value.get("duplicates") or ()),
                   messages=tuple(OutboxRecord.from_json(m) for m in value.get("messages") or ()),
                   actions=tuple(Action.from_json(a) for a in value.get("actions") or ()))
