"""Queue and ticket pages: scoping, filters, search, and every action through the forms."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.console.models import CannedResponse, FaqCandidate
from api.outbox.models import OutboxMessage
from api.db import utcnow
from api.tickets.models import TicketEvent, TicketMessage
from api.kb.models import KbSuggestion
from tests.console.conftest import load_ticket, make_entry, make_ticket, post_form, text_of

ADMIN_PAGES = ["/console/dashboard", "/console/kb", "/console/kb/new", "/console/kb/synonyms",
               "/console/kb/entries/ratio-government", "/console/unanswered", "/console/admin/staff",
               "/console/admin/centers", "/console/admin/centers/seoul"]


async def test_agent_queue_shows_only_the_own_centre(agent_client, db):
    mine = await make_ticket(db, "seoul", chat_id=1, text="서울 공장 스마트공장 신청 문의", company_name="가산정밀")
    other = await make_ticket(db, "busan", chat_id=2, text="부산 공장 문의", company_name="녹산기계")
    page = await agent_client.get("/console/queue")
    assert page.status_code == 200
    assert mine.number in page.text and "가산정밀" in page.text
    assert other.number not in page.text and "녹산기계" not in page.text
    # Asking for another centre's queue is refused; searching for its ticket finds nothing.
    assert (await agent_client.get("/console/queue?center=busan")).status_code == 403
    found = await agent_client.get("/console/queue", params={"q": other.number})
    assert f'data-ticket="{other.number}"' not in found.text and "해당하는 문의가 없습니다" in found.text


async def test_another_centres_ticket_is_a_404_page_and_its_actions_too(agent_client, db):
    other = await make_ticket(db, "busan", chat_id=2, text="부산 공장 문의")
    page = await agent_client.get(f"/console/tickets/{other.id}")
    assert page.status_code == 404
    assert "문의를 찾을 수 없습니다" in page.text and "<html" in page.text
    for action, data in (("claim", {}), ("reply", {"body": "답변"}), ("resolve", {}),
                         ("transfer", {"center": "seoul", "reason": "x"}), ("faq-candidate", {"message_id": "1"})):
        response = await post_form(agent_client, "/console/queue", f"/console/tickets/{other.id}/{action}", data)
        assert response.status_code == 404, action
    row = await load_ticket(db, other)
    assert row.assignee_id is None and row.status == "open"
    assert (await agent_client.get("/console/tickets/999999")).status_code == 404
    assert (await agent_client.get("/console/tickets/abc")).status_code == 400


async def test_agent_cannot_open_admin_pages(agent_client):
    for page in ADMIN_PAGES:
        response = await agent_client.get(page)
        assert response.status_code == 403, page
        assert "관리자만 볼 수 있는 페이지입니다" in response.text
    page = await agent_client.get("/console/queue")
    assert "/console/admin/staff" not in page.text and "/console/dashboard" not in page.text


async def test_admin_sees_every_centre_and_can_pick_one(admin_client, db):
    seoul = await make_ticket(db, "seoul", chat_id=1, text="서울 문의")
    busan = await make_ticket(db, "busan", chat_id=2, text="부산 문의")
    page = await admin_client.get("/console/queue")
    assert seoul.number in page.text and busan.number in page.text and "전체 센터 대기열" in page.text
    page = await admin_client.get("/console/queue?center=busan")
    assert busan.number in page.text and seoul.number not in page.text
    assert (await admin_client.get(f"/console/tickets/{busan.id}")).status_code == 200


async def test_queue_is_in_due_order_and_shows_time_left_or_overdue(agent_client, db):
    late = await make_ticket(db, "seoul", chat_id=1, text="오래된 문의")
    row = await load_ticket(db, late)
    row.first_response_due = utcnow() - timedelta(hours=2)
    row.created_at = row.created_at - timedelta(days=1)
    fresh = await make_ticket(db, "seoul", chat_id=2, text="새 문의")
    row = await load_ticket(db, fresh)
    row.first_response_due = utcnow() + timedelta(hours=3, minutes=30)
    await db.commit()
    page = (await agent_client.get("/console/queue")).text
    assert page.index(late.number) < page.index(fresh.number)
    assert "2시간 지남" in page and "is-overdue" in page
    assert "3시간 29분 남음" in page or "3시간 30분 남음" in page


async def test_queue_filters_and_search(agent_client, db, agent):
    claimed = await make_ticket(db, "seoul", chat_id=1, text="설비 자동화 지원 문의", company_name="가산정밀")
    row = await load_ticket(db, claimed)
    row.assignee_id, row.status = agent.id, "assigned"
    free = await make_ticket(db, "seoul", chat_id=2, text="MES 도입 비용 문의", company_name="독산테크",
                             business_number="1234567891")
    overdue = await make_ticket(db, "seoul", chat_id=3, text="기한 지난 문의", company_name="구로전자")
    (await load_ticket(db, overdue)).first_response_due = utcnow() - timedelta(minutes=5)
    done = await make_ticket(db, "seoul", chat_id=4, text="끝난 문의", company_name="시흥금속")
    row = await load_ticket(db, done)
    row.status, row.resolved_at = "resolved", utcnow()
    await db.commit()

    async def numbers(**params) -> set[str]:
        html = (await agent_client.get("/console/queue", params=params)).text
        return {t.number for t in (claimed, free, overdue, done) if f'data-ticket="{t.number}"' in html}

    assert await numbers() == {claimed.number, free.number, overdue.number}
    assert await numbers(view="mine") == {claimed.number}
    assert await numbers(view="unassigned") == {free.number, overdue.number}
    assert await numbers(view="overdue") == {overdue.number}
    assert await numbers(view="resolved") == {done.number}
    assert await numbers(q=free.number) == {free.number}
    assert await numbers(q=free.number.lower()) == {free.number}
    assert await numbers(q="독산") == {free.number}
    assert await numbers(q="자동화") == {claimed.number}
    assert await numbers(q="123-45-67891") == {free.number}
    page = (await agent_client.get("/console/queue", params={"view": "mine"})).text
    assert 'class="on" aria-current="page">내 담당<span class="n">1</span>' in page


async def test_ticket_page_shows_question_bot_candidates_company_and_history(agent_client, db):
    ticket = await make_ticket(db, "seoul", chat_id=77, text="스마트공장 자부담 현물로 내도 되나요?",
                               company_name="가산정밀", contact_name="김대표", phone="010-1234-5678",
                               candidates=[{"entry_id": "share-company", "topic": "company-share",
                                            "title": "기업 자부담은 얼마인가요?", "score": 0.41},
                                           {"entry_id": "ratio-government", "topic": "support-ratio",
                                            "title": "정부지원 비율은 얼마인가요?", "score": 0.22}])
    page = await agent_client.get(f"/console/tickets/{ticket.id}")
    assert page.status_code == 200
    html = page.text
    for expected in ("스마트공장 자부담 현물로 내도 되나요?", "기업 자부담은 얼마인가요?", "0.41", "0.22", "가산정밀",
                     "김대표", "010-1234-5678", "서울특별시", "금천구", "접수", "챗봇이 시도한 답변"):
        assert expected in html, expected


async def test_claim_reply_resolve_reopen_through_the_forms(agent_client, db, agent):
    agent_id = agent.id
    ticket = await make_ticket(db, "seoul", chat_id=4242, text="스마트공장 신청 기간이 언제인가요?")
    url = f"/console/tickets/{ticket.id}"
    response = await post_form(agent_client, url, f"{url}/claim", follow_redirects=True)
    assert response.status_code == 200 and "문의를 담당합니다" in response.text and "내가 담당 중" in response.text
    row = await load_ticket(db, ticket)
    assert row.assignee_id == agent_id and row.status == "assigned"

    response = await post_form(agent_client, url, f"{url}/reply", {"body": "올해 공고는 3월에 나옵니다."},
                               follow_redirects=True)
    assert "답변을 보냈습니다" in response.text and "올해 공고는 3월에 나옵니다." in response.text
    queued = (await db.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id,
                                                           OutboxMessage.kind == "staff_reply"))).all()
    assert len(queued) == 1 and queued[0].chat_id == 4242 and queued[0].status == "pending"
    assert "올해 공고는 3월에 나옵니다." in queued[0].text

    response = await post_form(agent_client, url, f"{url}/resolve", {"note": "안내 완료"}, follow_redirects=True)
    assert "해결 처리했습니다" in response.text
    assert (await load_ticket(db, ticket)).status == "resolved"
    assert 'action="/console/tickets/%d/reply"' % ticket.id not in response.text  # no reply box when resolved

    response = await post_form(agent_client, url, f"{url}/reopen", {"reason": "추가 질문"}, follow_redirects=True)
    assert "다시 열었습니다" in response.text
    assert (await load_ticket(db, ticket)).status == "assigned"
    kinds = (await db.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id)
                              .order_by(TicketEvent.id))).all()
    assert kinds == ["created", "claimed", "replied", "resolved", "reopened"]
    html = (await agent_client.get(url)).text
    for label in ("담당 지정", "답변", "해결 처리", "다시 열림", "사유: 추가 질문"):
        assert label in html


async def test_service_errors_come_back_as_a_korean_message_on_the_page(agent_client, db, make_staff):
    other_agent, _ = await make_staff("agent", "seoul")
    ticket = await make_ticket(db, "seoul", chat_id=9, text="문의")
    row = await load_ticket(db, ticket)
    row.assignee_id, row.status = other_agent.id, "assigned"
    await db.commit()
    url = f"/console/tickets/{ticket.id}"
    response = await post_form(agent_client, url, f"{url}/claim")
    assert response.status_code == 409 and "이미 담당하고 있는 문의입니다" in response.text
    assert f'href="{url}" data-history-back' in response.text  # the way back to the ticket
    response = await post_form(agent_client, url, f"{url}/reply", {"body": "   "})
    assert response.status_code == 422 and "답변을(를) 입력해 주세요" in response.text
    assert "보낸 내용은 저장되지 않았습니다" in response.text
    assert (await db.scalar(select(TicketMessage.id).where(TicketMessage.ticket_id == ticket.id,
                                                          TicketMessage.direction == "staff"))) is None


async def test_transfer_moves_the_ticket_out_of_the_agents_reach(agent_client, db):
    ticket = await make_ticket(db, "seoul", chat_id=31, text="경기도 공장 문의")
    url = f"/console/tickets/{ticket.id}"
    response = await post_form(agent_client, url, f"{url}/transfer", {"center": "gyeonggi", "reason": ""},
                               follow_redirects=True)
    assert "이관 사유을(를) 입력해 주세요" in response.text
    response = await post_form(agent_client, url, f"{url}/transfer",
                               {"center": "gyeonggi", "reason": "공장 소재지가 경기도입니다."})
    assert response.status_code == 303 and response.headers["location"] == "/console/queue"
    event = await db.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                      TicketEvent.kind == "transferred"))
    assert event.data["to"] == "gyeonggi" and event.data["reason"] == "공장 소재지가 경기도입니다."
    assert (await agent_client.get(url)).status_code == 404
    assert ticket.number not in (await agent_client.get("/console/queue")).text


async def test_canned_responses_of_the_centre_are_offered(agent_client, db, agent):
    seoul = await make_ticket(db, "seoul", chat_id=1, text="문의")
    busan = await make_ticket(db, "busan", chat_id=2)
    db.add(CannedResponse(center_id=seoul.center_id, title="신청 기간 안내", body="신청 기간은 공고를 확인해 주세요."))
    db.add(CannedResponse(center_id=busan.center_id, title="부산 전용", body="부산 센터 안내"))
    await db.commit()
    html = (await agent_client.get(f"/console/tickets/{seoul.id}")).text
    assert "신청 기간 안내" in html and 'data-body="신청 기간은 공고를 확인해 주세요."' in html
    assert "부산 전용" not in html


async def test_faq_candidate_from_a_reply(agent_client, db, agent):
    agent_id = agent.id
    ticket = await make_ticket(db, "seoul", chat_id=55, text="스마트공장 사후관리 기간은 몇 년인가요?")
    url = f"/console/tickets/{ticket.id}"
    await post_form(agent_client, url, f"{url}/reply", {"body": "사후관리는 보통 2년입니다. 공고를 확인해 주세요."})
    message_id = await db.scalar(select(TicketMessage.id).where(TicketMessage.ticket_id == ticket.id,
                                                               TicketMessage.direction == "staff"))
    response = await post_form(agent_client, url, f"{url}/faq-candidate", {"message_id": str(message_id)},
                               follow_redirects=True)
    assert "FAQ 후보로 올렸습니다" in response.text and "FAQ 후보로 올림" in response.text
    candidate = await db.scalar(select(FaqCandidate).where(FaqCandidate.ticket_id == ticket.id))
    assert candidate.question == "스마트공장 사후관리 기간은 몇 년인가요?"
    assert candidate.answer.startswith("사후관리는 보통 2년") and candidate.created_by == agent_id
    response = await post_form(agent_client, url, f"{url}/faq-candidate", {"message_id": str(message_id)},
                               follow_redirects=True)
    assert "이미 FAQ 후보로 올렸습니다" in response.text
    owner_message = await db.scalar(select(TicketMessage.id).where(TicketMessage.ticket_id == ticket.id,
                                                                  TicketMessage.direction == "owner"))
    response = await post_form(agent_client, url, f"{url}/faq-candidate", {"message_id": str(owner_message)})
    assert response.status_code == 404


async def test_an_agent_resolves_citing_a_kb_entry_from_the_ticket_page(agent_client, db):
    await make_entry(db)
    ticket = await make_ticket(db, "seoul", chat_id=4343, text="나라에서 대주는 돈이 몇 퍼센트인지요",
                               candidates=[{"entry_id": "ratio-government", "title": "정부지원 비율은 얼마인가요?",
                                            "score": 0.41}])
    url = f"/console/tickets/{ticket.id}"
    page = await agent_client.get(url)
    assert 'list="kb-choices"' in page.text and "챗봇 후보: 정부지원 비율은 얼마인가요?" in page.text
    unknown = await post_form(agent_client, url, f"{url}/resolve", {"entry_id": "no-such-entry"},
                              follow_redirects=True)
    assert "no-such-entry" in text_of(unknown) and (await load_ticket(db, ticket)).status != "resolved"
    response = await post_form(agent_client, url, f"{url}/resolve", {"entry_id": "ratio-government"},
                               follow_redirects=True)
    assert "해결 처리했습니다" in response.text and "근거 지식 항목" in response.text
    row = await db.scalar(select(KbSuggestion).where(KbSuggestion.ticket_id == ticket.id))
    assert (row.entry_id, row.source, row.text) == ("ratio-government", "staff", "나라에서 대주는 돈이 몇 퍼센트인지요")
