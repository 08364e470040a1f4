"""The outbox drain API for channel adapters (service token only): lease due messages, report what happened."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.auth.deps import ServicePrincipal, SessionDep
from api.channels.schemas import OutboxRecordOut
from api.outbox import delivery
from api.outbox.schemas import LeaseIn, ReportIn, ReportOut

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])


@router.post("/lease", response_model=list[OutboxRecordOut])
async def lease(body: LeaseIn, session: SessionDep, _: ServicePrincipal) -> list[OutboxRecordOut]:
    """Due messages of ``channel``, leased to the caller for ``lease_seconds``: each chat's oldest pending messages,
    in order (deliver them one after another; stop a chat's at its first failure)."""
    records = await delivery.lease_due(session, channel=body.channel, limit=body.limit,
                                       lease_seconds=body.lease_seconds, address=body.address)
    return [OutboxRecordOut.of(r) for r in records]


@router.post("/report", response_model=ReportOut)
async def report(body: ReportIn, session: SessionDep, _: ServicePrincipal, request: Request) -> ReportOut:
    """What the caller did with its leased messages: sent (recorded whatever the lease says: a sent message is
    never sent again; repeating a report is harmless), failed (retried later, or given up), released."""
    outcome = await delivery.report(
        session, sent=[delivery.Sent(s.id, s.message_id) for s in body.sent],
        failed=[delivery.Failed(f.id, f.lease_token, f.error, f.retry_after, f.permanent) for f in body.failed],
        released=[delivery.Released(r.id, r.lease_token, r.delay_seconds) for r in body.released],
        policy=delivery.RetryPolicy.from_settings(request.app.state.settings))
    return ReportOut(sent=outcome.sent, failed=outcome.failed, released=outcome.released,
                     lease_lost=outcome.lease_lost)
