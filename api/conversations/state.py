"""A chat's conversation state: typed, versioned, stored as JSON in ``conversations.state``.

What the conversation keeps between messages: the recent questions (so buttons can refer to them), an
escalation in progress (active, or suspended while the owner asks something else), a message held for the owner's
decision (add it to the open ticket?), the ticket whose rating comment is awaited, and what the owner told us
before (their factory's place, company, business number), reused only with a tap.

``ChatState.load`` reads every stored version (a state without ``v`` is version 1, the untyped dict the bot used
to keep); ``dump`` writes the current one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

STATE_VERSION = 2
RECENT_ASKS = 5


class AskMemo(BaseModel):
    """A recent question: buttons under its answer or clarify refer to it by ``ref``."""

    ref: int
    text: str
    log_id: int | None = None  # the ask log row, once written
    outcome: str = "escalate"
    entry_id: str | None = None  # the entry answered (or picked)
    topic: str | None = None
    candidates: list[str] = Field(default_factory=list)  # clarify candidates' entry ids, in button order
    followed: bool = False  # read as a follow-up of the previous answer ("그럼 한도는요?"): no phrasing of its own
    region: str | None = None  # what the question's introduction said about the company ("경남 진주에서 …")
    company: str | None = None


class Place(BaseModel):
    """A factory's place, routed to the centre that serves it."""

    address: str
    region: str
    center_code: str
    center_name: str


Step = Literal["question", "address", "address_pick", "company", "bizno", "confirm"]


class Escalation(BaseModel):
    """Collecting what a ticket needs: the question, the place, optionally the company and business number."""

    step: Step
    question: str | None = None
    ask_ref: int | None = None
    place: Place | None = None
    options: list[Place] = Field(default_factory=list)  # an ambiguous place's choices (step address_pick)
    company_name: str | None = None
    company_done: bool = False  # given or skipped
    business_number: str | None = None
    bizno_done: bool = False
    suspended: bool = False  # the owner asked something else meanwhile; resumed with a tap
    unparsed: str | None = None  # the last message that was not the data asked for (kept: it may be a question)


class HeldMessage(BaseModel):
    """A message the knowledge base could not answer, sent while a ticket is open: added to the ticket only if the
    owner says so."""

    text: str
    ticket_id: int
    ticket_number: str
    ask_ref: int | None = None


class Profile(BaseModel):
    """What the owner told us in an earlier escalation."""

    place: Place | None = None
    company_name: str | None = None
    business_number: str | None = None


class ChatState(BaseModel):
    v: int = STATE_VERSION
    next_ref: int = 1
    asks: list[AskMemo] = Field(default_factory=list)
    escalation: Escalation | None = None
    held: HeldMessage | None = None
    comment_for: int | None = None  # the ticket whose rating comment the next message is
    last_appended: str | None = None  # the text last added to a ticket (a repeat is not added twice)
    profile: Profile = Field(default_factory=Profile)

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> "ChatState":
        """The state stored as ``data`` (any version); a state that cannot be read starts afresh."""
        if not data:
            return cls()
        if "v" not in data:
            return _from_v1(data)
        try:
            return cls.model_validate(data)
        except ValidationError:
            return cls()

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True) | {"v": STATE_VERSION}

    # --- recent questions ---------------------------------------------------------------------------------------

    def remember(self, memo_text: str, **fields: Any) -> AskMemo:
        memo = AskMemo(ref=self.next_ref, text=memo_text[:1000], **fields)
        self.next_ref += 1
        self.asks = [*self.asks, memo][-RECENT_ASKS:]
        return memo

    def ask(self, ref: int | None) -> AskMemo | None:
        return next((a for a in self.asks if a.ref == ref), None) if ref is not None else None

    def last_answered(self) -> AskMemo | None:
        return next((a for a in reversed(self.asks) if a.entry_id), None)

    def previous_answer(self) -> AskMemo | None:
        """The latest question, when it was answered (or a candidate picked): what a follow-up refers to."""
        return self.asks[-1] if self.asks and self.asks[-1].entry_id else None

    def said(self, name: str) -> list[str]:
        """What recent questions said about the company (``region`` or ``company``), newest first."""
        return [value for a in reversed(self.asks) if (value := getattr(a, name))]

    def active_escalation(self) -> Escalation | None:
        return self.escalation if self.escalation is not None and not self.escalation.suspended else None

    def leave_modes(self) -> bool:
        """Leave every mode (escalation, held message, rating comment); whether there was one."""
        had = self.escalation is not None or self.held is not None or self.comment_for is not None
        self.escalation = None
        self.held = None
        self.comment_for = None
        return had


def _from_v1(data: dict[str, Any]) -> ChatState:
    """Version 1 (the bot's untyped dict): the owner's profile carries over; flows in progress do not (their
    buttons answer as stale)."""
    profile = data.get("profile") if isinstance(data.get("profile"), dict) else {}
    place = None
    center = profile.get("center") if isinstance(profile.get("center"), dict) else None
    if profile.get("address") and center and center.get("code") and center.get("name"):
        place = Place(address=str(profile["address"]), region=str(profile.get("region") or profile["address"]),
                      center_code=str(center["code"]), center_name=str(center["name"]))
    return ChatState(profile=Profile(place=place, company_name=profile.get("company_name") or None,
                                     business_number=profile.get("business_number") or None))
