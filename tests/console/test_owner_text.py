"""Owner text in the console: bidirectional controls never steer the page, zero-width characters are dropped
from one-line text, and a long unbroken line is excerpted in lists."""

from __future__ import annotations

from api.console.web import excerpt_text, owner_text
from tests.console.conftest import make_ticket, text_of

RLO, PDF, ZWSP = "\u202e", "\u202c", "\u200b"


def test_owner_text_is_isolated_and_loses_its_bidi_controls():
    assert str(owner_text(f"가산{RLO}정밀{PDF} <b>")) == '<bdi class="owner">가산정밀 &lt;b&gt;</bdi>'
    assert str(owner_text("이모지 👨\u200d👩")) == '<bdi class="owner">이모지 👨\u200d👩</bdi>'  # ZWJ kept in messages
    assert excerpt_text(f" 가산{ZWSP}정밀 {RLO}\n 주식회사 ") == "가산정밀 주식회사"
    assert excerpt_text("가" * 300, 120) == "가" * 119 + "…"
    assert excerpt_text(None) == ""


async def test_queue_and_ticket_pages_isolate_owner_text(agent_client, db):
    ref = await make_ticket(db, "seoul", chat_id=8101, text=f"국비 지원 {RLO}문의합니다{PDF} 확인 부탁드려요",
                            company_name=f"{RLO}밀정산가", contact_name=f"김{ZWSP}대표")
    queue = text_of(await agent_client.get("/console/queue"))
    assert RLO not in queue and PDF not in queue and ZWSP not in queue
    assert '<bdi class="owner">밀정산가</bdi>' in queue
    ticket = text_of(await agent_client.get(f"/console/tickets/{ref.id}"))
    assert RLO not in ticket and ZWSP not in ticket
    assert '<bdi class="owner">국비 지원 문의합니다 확인 부탁드려요</bdi>' in ticket
    assert '<bdi class="owner">김대표</bdi>' in ticket


async def test_a_long_unbroken_line_is_excerpted_in_the_queue(agent_client, db):
    line = "가" * 3900
    ref = await make_ticket(db, "seoul", chat_id=8102, text=line, company_name="나" * 200)
    queue = text_of(await agent_client.get("/console/queue"))
    assert line not in queue and "가" * 119 + "…" in queue
    assert "나" * 39 + "…" in queue and "나" * 41 not in queue
    ticket = text_of(await agent_client.get(f"/console/tickets/{ref.id}"))
    assert line in ticket  # the ticket page shows it whole (it wraps: overflow-wrap in the stylesheet)
