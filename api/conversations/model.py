"""The conversation engine's vocabulary: what comes in (events), what it may consult (``Context`` and its views),
and what comes out (replies and effects). Channel adapters in the API build events; ``api.conversations.runner``
provides the context and carries out the effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from api.contract import Keyboard
from api.conversations.state import AskMemo, Place

# --- events ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Command:
    name: str  # lower case, without the slash
    args: str = ""


@dataclass(frozen=True)
class Press:
    """A button pressed: its data as the channel returned it (``api.contract.decode`` reads it)."""

    data: str


@dataclass(frozen=True)
class Attachment:
    """Anything that is not text: a photo, a file, a voice message, a sticker, a location …"""

    kind: str
    meta: dict[str, Any] = field(default_factory=dict)
    caption: str = ""


Event = Text | Command | Press | Attachment


@dataclass(frozen=True)
class Incoming:
    event: Event
    at: datetime
    display_name: str = ""
    centre_hint: str | None = None  # a centre code the channel suggests (a centre's website embedding the web chat)


def typed(text: str | None) -> Text | Command:
    """What the owner typed: a command (``/status``, ``/link@bot code``) or text."""
    stripped = (text or "").strip()
    if stripped.startswith("/") and len(stripped) > 1 and stripped[1].isascii() and stripped[1].isalpha():
        head, _, rest = stripped.partition(" ")
        return Command(name=head[1:].split("@")[0].lower(), args=rest.strip())
    return Text(text or "")


# --- what the engine consults --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerView:
    entry_id: str
    topic: str
    title: str
    text: str
    year: int | None
    source_title: str
    source_url: str
    year_note: str | None = None  # said first when the answer describes an earlier programme year


@dataclass(frozen=True)
class CandidateView:
    entry_id: str
    topic: str
    title: str
    score: float


@dataclass(frozen=True)
class Facts:
    """What a question says about the company besides the question itself."""

    region_text: str | None = None
    company_name: str | None = None


@dataclass(frozen=True)
class MatchView:
    kind: str  # question | greeting | thanks | chitchat | out_of_scope | empty
    outcome: Literal["answered", "clarify", "escalate"]
    answer: AnswerView | None
    candidates: tuple[CandidateView, ...]
    facts: Facts = Facts()
    followed: bool = False  # read with the previous answer's topic (a follow-up)
    result: Any = None  # the matcher's own result, for the ask log


@dataclass(frozen=True)
class Routing:
    status: Literal["routed", "ambiguous", "unknown"]
    place: Place | None = None
    options: tuple[Place, ...] = ()
    contact: str | None = None  # the routed centre's contact lines, when known


@dataclass(frozen=True)
class TicketView:
    id: int
    number: str
    status: str  # open | assigned | resolved
    center_name: str
    created_at: datetime
    question: str
    responded_at: datetime | None
    resolved_at: datetime | None
    promise: str | None  # when a person will answer, while waiting for the first answer
    rating: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


class Context(Protocol):
    """Read-only facts and pure lookups for one step. Synchronous: everything is in memory by then."""

    max_text_chars: int

    @property
    def tickets(self) -> Sequence[TicketView]:
        """The chat's tickets, newest first."""

    def match(self, text: str, *, previous: AskMemo | None) -> MatchView:
        """What the knowledge base makes of ``text`` (``previous``: the question just answered, which a short
        follow-up such as "그럼 한도는요?" refers to)."""

    def entry(self, entry_id: str) -> AnswerView | None:
        """A published entry that may be served today."""

    def route(self, text: str) -> Routing:
        """The centre serving the place named in ``text``."""

    def centre_place(self, code: str) -> Place | None:
        """The whole region a centre serves, as a place (None for a centre sharing its province)."""


# --- what comes out ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: Keyboard = ()


@dataclass(frozen=True)
class LogAsk:
    """Write the question to the ask log; its id goes to the state's memo ``ref``."""

    ref: int
    text: str
    match: MatchView


@dataclass(frozen=True)
class RecordFeedback:
    log_id: int
    helpful: bool
    suggest: bool = True  # a 👍 suggests the question as a paraphrase (not a follow-up's: it needs its context)


@dataclass(frozen=True)
class RecordPick:
    """The owner chose ``entry_id`` among a clarify's candidates for question ``log_id``."""

    log_id: int | None
    entry_id: str
    text: str
    suggest: bool = True  # the question becomes a suggested paraphrase of the entry (not a follow-up's)


@dataclass(frozen=True)
class CreateTicket:
    """Open a ticket; the ticket domain answers with the acknowledgement the owner reads."""

    question: str
    place: Place
    company_name: str | None
    business_number: str | None
    ask_log_id: int | None
    display_name: str


@dataclass(frozen=True)
class AppendToTicket:
    ticket_id: int
    text: str | None
    attachment: dict[str, Any] | None = None


@dataclass(frozen=True)
class RateTicket:
    ticket_id: int
    stars: int | None  # None: keep the rating, add the comment
    comment: str | None = None


Effect = LogAsk | RecordFeedback | RecordPick | CreateTicket | AppendToTicket | RateTicket
Output = Reply | Effect
