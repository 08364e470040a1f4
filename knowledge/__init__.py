"""Programme knowledge base: entries (YAML), loading/validation and the question matcher.

Public interface::

    from knowledge import Entry, load_entries, load_synonyms, check, dump_entries
    from knowledge import Matcher, MatchResult, Candidate, Context, matchable

    matcher = Matcher(matchable(load_entries()), load_synonyms())   # history entries are not matched
    result = matcher.match("스공 지원금 얼마까지 나와요?")   # MatchResult
    result = matcher.match("소공인도요?", context=Context(entry_id=result.entry.id))  # a follow-up
"""
from .loader import (Entry, KnowledgeError, Problem, check, default_topics_file, dump_entries,
                     load_entries, load_synonyms, load_topics)
from .matcher import Candidate, Context, Matcher, MatchResult
from .narrative import CompanyFacts, split_narrative
from .years import matchable

__all__ = [
    "Entry", "Problem", "KnowledgeError", "check", "default_topics_file", "dump_entries",
    "load_entries", "load_synonyms", "load_topics", "Matcher", "MatchResult", "Candidate", "Context",
    "CompanyFacts", "split_narrative", "matchable",
]
