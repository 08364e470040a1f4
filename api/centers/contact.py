"""How owners are told to reach a centre: one pure formatting of the contacts that are known.

Used by answers about centres and routing answers (``/ask``), by the centre data of the API (``CenterOut.contact``)
and by the escalation acknowledgement. A field that is not known is left out, never printed empty; a centre
with no known contact gives no contact block at all.
"""

from __future__ import annotations

from typing import Protocol, Sequence

# Knowledge-base topics whose answers are about the centres: when the question names a place, the answer also says
# which centre serves it and how to reach that centre ("포항에 공장있는데 어느센터로 가요").
CENTRE_TOPICS = frozenset({"regional-centers", "hotline-contact"})

# (attribute, label) in the order owners read them.
CONTACT_LABELS = (("phone", "전화"), ("office_hours", "운영 시간"), ("address", "주소"), ("website", "누리집"))


class HasContacts(Protocol):
    name: str
    phone: str | None
    address: str | None
    website: str | None
    office_hours: str | None


def contact_lines(center: HasContacts) -> list[str]:
    """``"· 전화 054-223-2243"``, one line per known contact (none when nothing is known)."""
    lines = []
    for attribute, label in CONTACT_LABELS:
        value = " ".join(str(getattr(center, attribute, None) or "").split())
        if value:
            lines.append(f"· {label} {value}")
    return lines


def format_contact(center: HasContacts) -> str:
    """The centre's name and its known contacts, one per line; ``""`` when no contact is known."""
    lines = contact_lines(center)
    return "\n".join([f"{center.name} 연락처", *lines]) if lines else ""


def routing_note(routes: Sequence[tuple[str, HasContacts]]) -> str:
    """What a routing answer adds: which centre serves the place the owner named, with its contacts.

    ``routes``: ``(place, centre)`` pairs, one when the place is clear, several when it names more than one
    region (the owner's factory decides)."""
    if not routes:
        return ""
    if len(routes) == 1:
        place, center = routes[0]
        head = [f"{place} 공장은 {center.name} 담당입니다."]
        return "\n".join(head + contact_lines(center))
    blocks = ["공장이 있는 곳에 따라 담당 센터가 달라요."]
    for place, center in routes:
        blocks.append("\n".join([f"{place}: {center.name}", *contact_lines(center)]))
    return "\n".join(blocks)
