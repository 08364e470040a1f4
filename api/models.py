"""Every ORM model, imported in one place so that metadata (Alembic, tests) sees all tables."""

from api.auth.models import LoginAttempt
from api.centers.models import Center, CenterClosure, CenterEvent
from api.companies.models import Company, OwnerChat
from api.channels.models import WebMessage, WebSession
from api.console.models import CannedResponse, ConsoleSession, FaqCandidate
from api.chats.models import Chat
from api.conversations.models import ChannelUpdate, Conversation
from api.db import Base
from api.kb.models import AskLog, KbEntry, KbEvent, KbRevision, KbSuggestion, KbSynonym
from api.outbox.models import OutboxMessage
from api.staff.models import Staff
from api.tickets.models import Ticket, TicketEvent, TicketMessage

__all__ = ["AskLog", "Base", "CannedResponse", "Center", "CenterClosure", "CenterEvent", "ChannelUpdate", "Chat",
           "Company", "ConsoleSession", "Conversation", "FaqCandidate", "KbEntry", "KbEvent", "KbRevision",
           "KbSuggestion", "KbSynonym", "LoginAttempt", "OutboxMessage", "OwnerChat", "Staff", "Ticket", "TicketEvent",
           "TicketMessage", "WebMessage", "WebSession"]
