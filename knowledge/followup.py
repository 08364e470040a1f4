"""Follow-up questions: a message that only makes sense after the previous answer.

After an answer, owners go on with ellipses (``그럼 한도는요?``, ``그건 언제까지예요?``, ``소공인도요?``,
``고양은요?``): too little to match alone, but clear with the previous topic. ``is_followup(question)`` tells such
a message (short, or opening with an anaphor or a connective such as 그럼/그건/거기/그때, or ending in the
"what about X" form ``…은요?/…는요?/…도요?``); the matcher then reads it together with ``context_words`` of the
previous entry (its first keyword), and keeps the message's own reading when that stands on its own
(``knowledge.matcher.Matcher._follow``).
"""
from __future__ import annotations

import re

from .loader import Entry

__all__ = ["is_followup", "context_words", "FOLLOWUP_MAX_CHARS"]

# A message this short (spacing-free) is read with its context whatever its form.
FOLLOWUP_MAX_CHARS = 10

_OPENERS = re.compile(
    r"^(?:아+\s*|음+\s*|그+럼|그러면|그렇다면|그래서|그리고|그런데|근데|그건|그거|그게|그걸|그것도|그때|그\s|"
    r"거기|그쪽|이건|이거|이것도|저건|저거|그\s?금액|그\s?돈|또|그밖에|그\s?외에|추가로|참|아\s?그리고)"
)
# "what about X?": …은요?, …는요?, …도요?, …도 돼요?, …면요?, …이면요?
_WHAT_ABOUT = re.compile(r"(?:은요|는요|도요|이요|면요|라면요|이면요|도\s?(?:되나요|돼요|되요|가능해요|해당돼요|받아요))\s*[?.!]*$")
_SPACE = re.compile(r"[\s?.!,~]+")


def is_followup(question: str) -> bool:
    """True when ``question`` (cleaned) reads as a follow-up of the previous answer."""
    text = question.strip()
    if not text:
        return False
    if len(_SPACE.sub("", text)) <= FOLLOWUP_MAX_CHARS:
        return True
    return bool(_OPENERS.match(text) or _WHAT_ABOUT.search(text))


def context_words(entry: Entry) -> str:
    """The words of ``entry`` a follow-up is read with: its first keyword (what the entry is about: ``상담 시간``,
    ``로봇활용 제조혁신``), or its title when it has none. One term, so that the follow-up's own words lead."""
    return entry.keywords[0] if entry.keywords else entry.title
