"""The owner's conversation as a pure state machine: ``step(state, incoming, context)`` → ``Turn``.

In: the chat's state, one event (text, command, button, anything else) with its time, and a ``Context`` of
read-only facts and pure lookups (the knowledge base, routing, the chat's tickets). Out: the new state and an
ordered list of replies and effects (``api.conversations.model``); ``api.conversations.runner`` carries the effects
out in the same transaction. No I/O here, so every rule is unit-tested without HTTP or a database.

The rules that keep owners out of traps:
- a message is never swallowed: at a step that expects data (place, company, business number, confirmation,
  rating comment) a message that reads as a question is handled as a question, and the escalation waits (a tap
  resumes it); commands work everywhere, and ``/cancel`` and "새 질문하기" leave every mode;
- everyday chatter gets a courteous scope reply, never a ticket;
- while a ticket is open, questions the knowledge base answers are answered, and anything else is added to the
  ticket only when the owner says so;
- what the owner already said (the factory's place, the company's name) is not asked again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api import contract
from api.companies.validation import format_business_number
from api.contract import Button, Keyboard
from api.conversations import parsing, texts
from api.conversations.model import (AnswerView, AppendToTicket, Attachment, Command, Context, CreateTicket, Incoming,
                                     LogAsk, MatchView, Output, Press, RateTicket, RecordFeedback, RecordPick, Reply,
                                     Text, TicketView)
from api.conversations.state import ChatState, Escalation, HeldMessage, Place

MAX_BUTTON_LABEL = 40
SMALL_TALK = {"greeting": texts.GREETING, "thanks": texts.THANKS}
NOT_A_QUESTION_KINDS = frozenset({"chitchat", "out_of_scope"})
STATUS_SHOWN = 5


@dataclass
class Turn:
    state: ChatState
    outputs: list[Output] = field(default_factory=list)

    @property
    def replies(self) -> list[Reply]:
        return [o for o in self.outputs if isinstance(o, Reply)]


def step(state: ChatState, incoming: Incoming, context: Context) -> Turn:
    """The conversation's answer to one event. ``state`` is not changed; the turn carries the new state."""
    turn = _Step(state.model_copy(deep=True), incoming, context)
    turn.run()
    return Turn(turn.state, turn.out)


def _label(text: str, limit: int = MAX_BUTTON_LABEL) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _button(text: str, data: contract.ButtonData) -> Button:
    return Button(text=_label(text), data=contract.encode(data))


CANCEL = _button(texts.BTN_CANCEL, contract.Simple("cancel"))
RESUME = _button(texts.BTN_RESUME, contract.Simple("resume"))
STATUS = _button(texts.BTN_STATUS, contract.Simple("status"))


class _Step:
    def __init__(self, state: ChatState, incoming: Incoming, context: Context):
        self.state = state
        self.incoming = incoming
        self.ctx = context
        self.out: list[Output] = []

    # --- plumbing ---------------------------------------------------------------------------------------------------

    def say(self, text: str, *rows: tuple[Button, ...] | list[Button]) -> None:
        keyboard: Keyboard = tuple(tuple(row) for row in rows if row)
        self.out.append(Reply(text, keyboard))

    def effect(self, effect) -> None:
        self.out.append(effect)

    def resume_row(self) -> tuple[Button, ...]:
        """The way back to a suspended escalation, under whatever is said meanwhile."""
        esc = self.state.escalation
        return (RESUME, CANCEL) if esc is not None and esc.suspended else ()

    def open_ticket(self) -> TicketView | None:
        return next((t for t in self.ctx.tickets if t.is_open), None)

    def ticket(self, ticket_id: int) -> TicketView | None:
        return next((t for t in self.ctx.tickets if t.id == ticket_id), None)

    def match(self, text: str) -> MatchView:
        return self.ctx.match(text, previous=self.state.previous_answer())

    # --- dispatch ---------------------------------------------------------------------------------------------------

    def run(self) -> None:
        event = self.incoming.event
        if isinstance(event, Command):
            self.command(event.name)
        elif isinstance(event, Press):
            self.press(event.data)
        elif isinstance(event, Attachment):
            self.attachment(event)
        elif isinstance(event, Text):
            self.text(event.text)

    # --- commands -----------------------------------------------------------------------------------------------------

    def command(self, name: str) -> None:
        if name == "start":
            self.state.leave_modes()
            self.say(texts.WELCOME)
        elif name == "help":
            self.say(texts.HELP, self.resume_row())
        elif name == "status":
            self.status()
        elif name == "cancel":
            self.say(texts.CANCELLED if self.state.leave_modes() else texts.NOTHING_TO_CANCEL)
        else:
            self.say(texts.UNKNOWN_COMMAND, self.resume_row())

    # --- typed text -----------------------------------------------------------------------------------------------------

    def text(self, raw: str) -> None:
        text = (raw or "").strip()
        if not text:
            self.say(texts.EMPTY, self.resume_row())
            return
        if len(text) > self.ctx.max_text_chars:
            self.say(texts.too_long(len(text), self.ctx.max_text_chars), self.resume_row())
            return
        if self.state.comment_for is not None:
            ticket_id = self.state.comment_for
            self.state.comment_for = None
            m = self.match(text)
            if not (parsing.question_form(text) or m.outcome in ("answered", "clarify")):
                self.comment(ticket_id, text)
                return
            self.question(text, m)
            return
        esc = self.state.active_escalation()
        if esc is not None:
            m = self.escalation_input(esc, text)
            if m is None:
                return
            esc.suspended = True
            self.question(text, m)
            return
        self.question(text)

    def reads_as_question(self, text: str, m: MatchView) -> bool:
        """At a step expecting data: is this rather a question (or chatter) to handle as such? Worded as a question,
        or a greeting or thanks, it is; otherwise what the knowledge base makes of it counts only for a sentence:
        a word or two is the data asked for (``"우리 동네"`` at the place step, ``"화성테크"`` at the company step),
        however it matches."""
        if parsing.question_form(text) or m.kind in SMALL_TALK:
            return True
        return len(text.split()) >= 3 and (m.outcome != "escalate" or m.kind in NOT_A_QUESTION_KINDS)

    def question(self, text: str, m: MatchView | None = None) -> None:
        m = m or self.match(text)
        if m.kind == "empty":
            self.say(texts.EMPTY, self.resume_row())
            return
        memo = self.state.remember(text, outcome=m.outcome,
                                   entry_id=m.answer.entry_id if m.outcome == "answered" and m.answer else None,
                                   topic=m.answer.topic if m.outcome == "answered" and m.answer else None,
                                   candidates=[c.entry_id for c in m.candidates[:3]] if m.outcome == "clarify" else [],
                                   followed=m.followed, region=m.facts.region_text, company=m.facts.company_name)
        self.effect(LogAsk(ref=memo.ref, text=text, match=m))
        if m.kind in SMALL_TALK:
            self.say(SMALL_TALK[m.kind], self.resume_row())
            return
        if m.kind in NOT_A_QUESTION_KINDS:
            self.say(texts.OUT_OF_SCOPE, self.resume_row())
            return
        if m.outcome == "answered" and m.answer is not None:
            self.answer(m.answer, memo.ref)
            return
        ticket = self.open_ticket()
        if ticket is not None:
            self.hold(text, ticket, memo.ref, m)
            return
        if m.outcome == "clarify" and m.candidates:
            self.clarify(m, memo.ref)
            return
        self.start_escalation(question=text, ask_ref=memo.ref, intro=texts.ESCALATE_INTRO)

    def answer(self, answer: AnswerView, ref: int) -> None:
        body = texts.answer(answer.text, year=answer.year, year_note=answer.year_note,
                            source_title=answer.source_title, source_url=answer.source_url)
        self.say(body, (_button(texts.BTN_HELPFUL, contract.Feedback(ref, True)),
                        _button(texts.BTN_NOT_HELPFUL, contract.Feedback(ref, False))), self.resume_row())

    def clarify(self, m: MatchView, ref: int) -> None:
        rows = [(_button(c.title, contract.Pick(ref, i)),) for i, c in enumerate(m.candidates[:3])]
        rows.append((_button(texts.BTN_HUMAN, contract.Human(ref)),))
        self.say(texts.CLARIFY, *rows, self.resume_row())

    def hold(self, text: str, ticket: TicketView, ref: int, m: MatchView) -> None:
        """A message the knowledge base cannot answer while a ticket is open: ask before adding it."""
        if self.state.last_appended is not None and parsing.compact(text) == parsing.compact(self.state.last_appended):
            self.say(texts.already_appended(ticket.number), (STATUS,))
            return
        self.state.held = HeldMessage(text=text, ticket_id=ticket.id, ticket_number=ticket.number, ask_ref=ref)
        rows: list[tuple[Button, ...]] = []
        if m.outcome == "clarify":
            rows += [(_button(c.title, contract.Pick(ref, i)),) for i, c in enumerate(m.candidates[:3])]
        rows.append((_button(texts.BTN_APPEND, contract.Simple("append")),
                     _button(texts.BTN_NEW_TICKET, contract.Simple("no_append"))))
        prefix = texts.CLARIFY + "\n\n" if m.outcome == "clarify" else ""
        self.say(prefix + texts.offer_append(number=ticket.number, center_name=ticket.center_name), *rows)

    # --- buttons --------------------------------------------------------------------------------------------------------

    def press(self, raw: str) -> None:
        data = contract.decode(raw)
        match data:
            case contract.Feedback(ref, helpful):
                self.feedback(ref, helpful)
            case contract.Pick(ref, index):
                self.pick(ref, index)
            case contract.Human(ref):
                memo = self.state.ask(ref)
                self.start_escalation(question=memo.text if memo else None, ask_ref=memo.ref if memo else None,
                                      intro=None)
            case contract.Place(index):
                self.pick_place(index)
            case contract.Skip(what):
                self.skip(what)
            case contract.Simple(what):
                self.simple(what)
            case contract.Rate(ticket_id, stars):
                self.rate(ticket_id, stars)
            case contract.Comment(ticket_id):
                self.ask_comment(ticket_id)
            case _:  # unknown, stale, or a staff button in an owner's chat
                self.say(texts.STALE_BUTTON, self.resume_row())

    def simple(self, what: str) -> None:
        if what == "submit":
            self.submit()
        elif what == "change_place":
            esc = self.state.escalation
            if esc is None:
                self.say(texts.STALE_BUTTON)
                return
            esc.suspended = False
            esc.place = None
            esc.options = []
            self.advance()
        elif what == "cancel":
            self.command("cancel")
        elif what == "new_question":
            self.state.leave_modes()
            self.say(texts.NEW_QUESTION)
        elif what == "status":
            self.status()
        elif what == "help":
            self.command("help")
        elif what == "resume":
            esc = self.state.escalation
            if esc is None:
                self.say(texts.STALE_BUTTON)
                return
            esc.suspended = False
            self.advance(texts.RESUMED)
        elif what == "append":
            self.append_held()
        elif what == "ask_unparsed":
            esc = self.state.active_escalation()
            if esc is None or not esc.unparsed:
                self.say(texts.STALE_BUTTON)
                return
            text, esc.unparsed = esc.unparsed, None
            esc.suspended = True
            self.question(text)
        elif what == "no_append":
            held = self.state.held
            if held is None:
                self.say(texts.STALE_BUTTON)
                return
            self.state.held = None
            self.start_escalation(question=held.text, ask_ref=held.ask_ref, intro=None)
        else:
            self.say(texts.STALE_BUTTON)

    def feedback(self, ref: int, helpful: bool) -> None:
        memo = self.state.ask(ref)
        if memo is not None and memo.log_id is not None:
            self.effect(RecordFeedback(log_id=memo.log_id, helpful=helpful, suggest=not memo.followed))
        if helpful:
            self.say(texts.FEEDBACK_THANKS if memo is not None else texts.STALE_BUTTON, self.resume_row())
            return
        self.start_escalation(question=memo.text if memo else None, ask_ref=memo.ref if memo else None,
                              intro=texts.NOT_HELPFUL)

    def pick(self, ref: int, index: int) -> None:
        memo = self.state.ask(ref)
        if memo is None or index >= len(memo.candidates):
            self.say(texts.STALE_BUTTON, self.resume_row())
            return
        answer = self.ctx.entry(memo.candidates[index])
        if answer is None:
            self.say(texts.ENTRY_GONE, (_button(texts.BTN_HUMAN, contract.Human(ref)),))
            return
        memo.outcome, memo.entry_id, memo.topic = "answered", answer.entry_id, answer.topic
        if self.state.held is not None and self.state.held.ask_ref == ref:
            self.state.held = None  # answered after all: nothing to add to the ticket
        self.effect(RecordPick(log_id=memo.log_id, entry_id=answer.entry_id, text=memo.text, suggest=not memo.followed))
        self.answer(answer, ref)

    def append_held(self) -> None:
        held = self.state.held
        if held is None:
            self.say(texts.NOTHING_TO_APPEND)
            return
        self.state.held = None
        ticket = self.ticket(held.ticket_id)
        if ticket is None or not ticket.is_open:  # answered meanwhile: this becomes a question of its own
            self.start_escalation(question=held.text, ask_ref=held.ask_ref, intro=None)
            return
        self.effect(AppendToTicket(ticket_id=ticket.id, text=held.text))
        self.state.last_appended = held.text
        self.say(texts.appended(number=ticket.number, center_name=ticket.center_name),
                 (_button(texts.BTN_NEW_QUESTION, contract.Simple("new_question")), STATUS))

    # --- escalation ----------------------------------------------------------------------------------------------------

    def start_escalation(self, *, question: str | None, ask_ref: int | None, intro: str | None) -> None:
        self.state.held = None
        self.state.comment_for = None
        esc = Escalation(step="question", question=question, ask_ref=ask_ref)
        self.state.escalation = esc
        if not question:
            self.say(texts.ASK_QUESTION_FOR_HUMAN, (CANCEL,))
            return
        self.advance(intro, *self.facts_from(esc, question))

    def facts_from(self, esc: Escalation, question: str) -> list[str]:
        """Take the factory's place and the company's name from the question itself, or from what the owner said
        about the company when asking just before ("경남 진주에서 항공 부품 가공하는 대흥정밀입니다. …"): not asked
        again."""
        notes = []
        routing = self.ctx.route(question)
        for region in self.state.said("region"):
            if routing.status == "routed":
                break
            routing = self.ctx.route(region)
        if routing.status == "routed" and routing.place is not None:
            esc.place = routing.place
            notes.append(texts.address_from_question(routing.place.region, routing.place.center_name))
        name = parsing.company_in_question(question) or next(iter(self.state.said("company")), None)
        if name:
            esc.company_name, esc.company_done = name, True
            notes.append(texts.company_from_question(name))
        return notes

    def advance(self, *before: str | None) -> None:
        """Ask for what the escalation still needs, or for the confirmation."""
        esc = self.state.escalation
        lead = "\n\n".join(b for b in before if b)
        lead = lead + "\n\n" if lead else ""
        if esc.question is None:
            esc.step = "question"
            self.say(lead + texts.ASK_QUESTION_FOR_HUMAN, (CANCEL,))
        elif esc.place is None:
            esc.step = "address"
            rows = []
            place = self.state.profile.place
            if place is not None:
                rows.append((_button(texts.BTN_SAME_ADDRESS.format(address=place.region), contract.Place()),))
            hint = self.incoming.centre_hint
            hinted = self.ctx.centre_place(hint) if hint else None
            esc.options = []
            if hinted is not None and (place is None or place.center_code != hinted.center_code):
                esc.options = [hinted]  # the centre whose website the owner came from: one tap
                rows.append((_button(texts.BTN_HINTED_ADDRESS.format(region=hinted.region), contract.Place(0)),))
            rows.append((CANCEL,))
            self.say(lead + texts.ASK_ADDRESS, *rows)
        elif not esc.company_done:
            esc.step = "company"
            self.say(lead + texts.ASK_COMPANY, (_button(texts.BTN_SKIP, contract.Skip("company")), CANCEL))
        elif not esc.bizno_done:
            esc.step = "bizno"
            self.say(lead + texts.ASK_BUSINESS_NUMBER, (_button(texts.BTN_SKIP, contract.Skip("bizno")), CANCEL))
        else:
            esc.step = "confirm"
            bn = esc.business_number
            self.say(lead + texts.confirm(question=esc.question, region=esc.place.region,
                                          center_name=esc.place.center_name, company_name=esc.company_name,
                                          business_number=format_business_number(bn) if bn else None),
                     (_button(texts.BTN_SUBMIT, contract.Simple("submit")),),
                     (_button(texts.BTN_CHANGE_ADDRESS, contract.Simple("change_place")), CANCEL))

    def escalation_input(self, esc: Escalation, text: str) -> MatchView | None:
        """Use ``text`` as the data the step expects; when it reads as a question instead, return what the
        knowledge base made of it (the caller handles it as a question)."""
        if esc.step == "question":
            esc.question = text
            self.advance(*self.facts_from(esc, text))
            return None
        if esc.step in ("address", "address_pick"):
            routing = self.ctx.route(text)
            if routing.status == "routed" and routing.place is not None:
                self.routed(esc, routing.place, routing.contact)
                return None
            if routing.status == "ambiguous" and routing.options:
                esc.step = "address_pick"
                esc.options = list(routing.options[:8])
                rows = [(_button(f"{p.region} ({p.center_name})", contract.Place(i)),) for i, p in enumerate(esc.options)]
                self.say(texts.ADDRESS_AMBIGUOUS, *rows, (CANCEL,))
                return None
            m = self.match(text)
            if self.reads_as_question(text, m):
                return m
            esc.unparsed = text  # kept: one tap asks it as a question
            self.say(texts.ADDRESS_NOT_FOUND, (_button(texts.BTN_ASK_UNPARSED, contract.Simple("ask_unparsed")), CANCEL))
            return None
        if esc.step == "company":
            m = self.match(text)
            if parsing.is_dont_know(text):
                esc.company_done = True
                self.advance()
                return None
            if self.reads_as_question(text, m):
                return m
            name = parsing.company_name(text)
            if len(name) > parsing.MAX_COMPANY_NAME:
                self.say(texts.COMPANY_TOO_LONG, (_button(texts.BTN_SKIP, contract.Skip("company")), CANCEL))
                return None
            esc.company_name, esc.company_done = name, True
            self.advance()
            return None
        if esc.step == "bizno":
            number = parsing.read_business_number(text)
            if number.status == "ok":
                esc.business_number, esc.bizno_done = number.digits, True
                self.advance()
                return None
            if parsing.is_dont_know(text):
                esc.bizno_done = True
                self.advance()
                return None
            m = self.match(text)
            if number.status == "not_a_number" and self.reads_as_question(text, m) or parsing.question_form(text):
                return m
            message = {"digits": texts.business_number_digits(number.count),
                       "checksum": texts.BUSINESS_NUMBER_CHECKSUM}.get(number.status,
                                                                      texts.BUSINESS_NUMBER_NOT_A_NUMBER)
            self.say(message, (_button(texts.BTN_SKIP, contract.Skip("bizno")), CANCEL))
            return None
        # confirm
        if parsing.is_yes(text):
            self.submit()
            return None
        if parsing.is_no(text):
            self.command("cancel")
            return None
        m = self.match(text)
        if self.reads_as_question(text, m):
            return m
        esc.question = f"{esc.question}\n{text}"  # more about the question: added to it, never dropped
        self.advance(texts.ADDED_TO_QUESTION)
        return None

    def routed(self, esc: Escalation, place: Place, contact: str | None) -> None:
        esc.place = place
        esc.options = []
        note = texts.address_routed(place.region, place.center_name, contact)
        profile = self.state.profile
        if profile.place is not None and profile.place.center_code == place.center_code and not esc.company_done:
            if profile.company_name:  # the same factory as last time: its company is known
                esc.company_name, esc.company_done = profile.company_name, True
                if profile.business_number:
                    esc.business_number, esc.bizno_done = profile.business_number, True
        self.advance(note)

    def pick_place(self, index: int | None) -> None:
        esc = self.state.active_escalation()
        if esc is None or esc.step not in ("address", "address_pick"):
            self.say(texts.STALE_BUTTON, self.resume_row())
            return
        if index is None:
            place = self.state.profile.place
            if place is None:
                self.advance()
                return
            self.routed(esc, place, None)
            return
        if index >= len(esc.options):
            self.say(texts.STALE_BUTTON, (CANCEL,))
            return
        self.routed(esc, esc.options[index], None)

    def skip(self, what: str) -> None:
        esc = self.state.active_escalation()
        if esc is None or esc.step != what:
            self.say(texts.STALE_BUTTON, self.resume_row())
            return
        if what == "company":
            esc.company_name, esc.company_done = None, True
        else:
            esc.business_number, esc.bizno_done = None, True
        self.advance()

    def submit(self) -> None:
        esc = self.state.active_escalation()
        if esc is None or esc.step != "confirm" or esc.place is None or not esc.question:
            self.say(texts.STALE_BUTTON, self.resume_row())
            return
        memo = self.state.ask(esc.ask_ref)
        self.effect(CreateTicket(question=esc.question, place=esc.place, company_name=esc.company_name,
                                 business_number=esc.business_number, ask_log_id=memo.log_id if memo else None,
                                 display_name=self.incoming.display_name))
        profile = self.state.profile
        profile.place = esc.place
        if esc.company_name:
            profile.company_name = esc.company_name
        if esc.business_number:
            profile.business_number = esc.business_number
        self.state.escalation = None

    # --- attachments, status, ratings -----------------------------------------------------------------------------------

    def attachment(self, event: Attachment) -> None:
        if self.state.active_escalation() is not None:
            self.say(texts.NON_TEXT_DURING_ESCALATION, (CANCEL,))
            return
        ticket = self.open_ticket()
        if ticket is None:
            self.say(texts.NON_TEXT, self.resume_row())
            return
        caption = event.caption.strip()[: self.ctx.max_text_chars] or None
        self.effect(AppendToTicket(ticket_id=ticket.id, text=caption, attachment={"type": event.kind, **event.meta}))
        what = texts.ATTACHMENT_NAMES.get(event.kind, "파일")
        self.say(texts.attachment_added(what=what, number=ticket.number), (STATUS,))

    def status(self) -> None:
        tickets = list(self.ctx.tickets)
        if not tickets:
            self.say(texts.NO_TICKETS, self.resume_row())
            return
        lines = [texts.STATUS_HEAD, ""]
        for t in tickets[:STATUS_SHOWN]:
            label = texts.status_label(status=t.status, responded_at=t.responded_at, resolved_at=t.resolved_at)
            lines += texts.status_item(number=t.number, label=label, center_name=t.center_name,
                                       created_at=t.created_at, question=t.question,
                                       promise=t.promise if t.is_open and t.responded_at is None else None)
            lines.append("")
        if len(tickets) > STATUS_SHOWN:
            lines.append(texts.more_tickets(len(tickets) - STATUS_SHOWN))
        self.say("\n".join(lines).strip(), self.resume_row())

    def rate(self, ticket_id: int, stars: int) -> None:
        ticket = self.ticket(ticket_id)
        if ticket is None or ticket.status != "resolved":
            self.say(texts.RATING_INVALID, self.resume_row())
            return
        self.effect(RateTicket(ticket_id=ticket_id, stars=stars))
        self.say(texts.rated(stars), (_button(texts.BTN_COMMENT, contract.Comment(ticket_id)),), self.resume_row())

    def ask_comment(self, ticket_id: int) -> None:
        ticket = self.ticket(ticket_id)
        if ticket is None or ticket.status != "resolved":
            self.say(texts.RATING_INVALID, self.resume_row())
            return
        self.state.comment_for = ticket_id
        self.say(texts.ASK_COMMENT, (CANCEL,))

    def comment(self, ticket_id: int, text: str) -> None:
        ticket = self.ticket(ticket_id)
        if ticket is None or ticket.status != "resolved":
            self.say(texts.RATING_INVALID, self.resume_row())
            return
        self.effect(RateTicket(ticket_id=ticket_id, stars=ticket.rating, comment=text))
        self.say(texts.RATING_COMMENT_THANKS, self.resume_row())
