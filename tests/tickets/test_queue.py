"""The staff queue: scoping, filters, search, order and paging."""

from __future__ import annotations


import pytest

from api.tickets import errors as tickets_errors
from api.tickets import queue as tickets_queue
from tests.tickets.conftest import kst


async def ids(client, headers, **params) -> list[int]:
    r = await client.get("/api/v1/tickets", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["items"]]


async def test_agents_see_their_centre_admins_see_all(new_ticket, make_staff, client):
    seoul = await new_ticket(center="seoul")
    busan = await new_ticket(center="busan")
    _, seoul_agent = await make_staff("agent", "seoul")
    _, busan_agent = await make_staff("agent", "busan")
    _, admin = await make_staff("admin", None)
    assert await ids(client, seoul_agent) == [seoul["id"]]
    assert await ids(client, busan_agent) == [busan["id"]]
    assert sorted(await ids(client, admin)) == sorted([seoul["id"], busan["id"]])
    assert await ids(client, admin, center="busan") == [busan["id"]]
    assert await ids(client, seoul_agent, center="seoul") == [seoul["id"]]
    r = await client.get("/api/v1/tickets", headers=seoul_agent, params={"center": "busan"})
    assert r.status_code == 403 and r.json()["error"] == "other_center"
    # Another centre's ticket is a 404 for every action, not a 403 that would confirm it exists.
    for method, path, body in [("get", "", None), ("post", "/claim", None), ("post", "/replies", {"body": "답"}),
                               ("post", "/resolve", None), ("post", "/reopen", None),
                               ("post", "/transfer", {"center": "seoul", "reason": "r"})]:
        r = await client.request(method, f"/api/v1/tickets/{busan['id']}{path}", headers=seoul_agent, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"] == "ticket_not_found"
    assert (await client.get(f"/api/v1/tickets/{busan['id']}", headers=admin)).status_code == 200


async def test_the_bot_and_anonymous_callers_never_see_the_queue(new_ticket, client, service_headers):
    t = await new_ticket()
    assert (await client.get("/api/v1/tickets")).status_code == 401
    assert (await client.get("/api/v1/tickets", headers=service_headers)).status_code == 403
    assert (await client.get(f"/api/v1/tickets/{t['id']}", headers=service_headers)).status_code == 403


async def test_sorted_by_first_response_due_and_paged(new_ticket, make_staff, client, clock):
    created = []
    for hour in (15, 9, 12, 10, 16):  # the due time follows the creation time within one day
        clock.now = kst(2026, 11, 24, hour)
        created.append((hour, (await new_ticket())["id"]))
    _, agent = await make_staff("agent", "seoul")
    expected = [i for _, i in sorted(created)]
    assert await ids(client, agent) == expected
    r = (await client.get("/api/v1/tickets", headers=agent, params={"limit": 2, "offset": 2})).json()
    assert [t["id"] for t in r["items"]] == expected[2:4] and r["total"] == 5
    assert r["limit"] == 2 and r["offset"] == 2
    assert (await client.get("/api/v1/tickets", headers=agent, params={"limit": 0})).status_code == 422
    assert (await client.get("/api/v1/tickets", headers=agent, params={"limit": 101})).status_code == 422


async def test_status_mine_unassigned_and_overdue_filters(new_ticket, make_staff, client, clock):
    clock.now = kst(2026, 11, 24, 9)
    a = await new_ticket()
    b = await new_ticket()
    c = await new_ticket()
    me, mine = await make_staff("agent", "seoul")
    _, other = await make_staff("agent", "seoul")
    clock.now = kst(2026, 11, 24, 11)
    assert (await client.post(f"/api/v1/tickets/{a['id']}/claim", headers=mine)).status_code == 200
    assert (await client.post(f"/api/v1/tickets/{b['id']}/claim", headers=other)).status_code == 200
    assert (await client.post(f"/api/v1/tickets/{c['id']}/resolve", headers=other)).status_code == 200
    assert await ids(client, mine, mine="true") == [a["id"]]
    assert await ids(client, mine, unassigned="true") == []
    assert await ids(client, mine) == [a["id"], b["id"]]  # default: not resolved
    assert await ids(client, mine, status="resolved") == [c["id"]]
    assert await ids(client, mine, status="assigned") == [a["id"], b["id"]]
    assert await ids(client, mine, status="open") == []
    assert sorted(await ids(client, mine, status="all")) == sorted([a["id"], b["id"], c["id"]])
    assert (await client.get("/api/v1/tickets", headers=mine, params={"status": "nope"})).status_code == 422
    # Due 13:00 (9:00 + 4 business hours). At 14:00 both unanswered open tickets are overdue, c is resolved.
    assert await ids(client, mine, overdue="true") == []
    clock.now = kst(2026, 11, 24, 14)
    r = (await client.get("/api/v1/tickets", headers=mine, params={"overdue": "true"})).json()
    assert [t["id"] for t in r["items"]] == [a["id"], b["id"]] and all(t["overdue"] for t in r["items"])
    assert (await client.post(f"/api/v1/tickets/{a['id']}/replies", headers=mine,
                              json={"body": "확인했습니다."})).status_code == 201
    assert await ids(client, mine, overdue="true") == [b["id"]]


async def test_search_by_number_company_text_and_business_number(new_ticket, make_staff, client):
    a = await new_ticket(text="MES 구축 비용 문의", company_name="한빛정밀")
    b = await new_ticket(text="정산 서류 문의 100%_완료", business_number="124-81-00998")
    _, agent = await make_staff("agent", "seoul")
    assert await ids(client, agent, q=a["number"]) == [a["id"]]
    assert await ids(client, agent, q=a["number"].lower()) == [a["id"]]
    assert await ids(client, agent, q="한빛") == [a["id"]]
    assert await ids(client, agent, q="mes") == [a["id"]]
    assert await ids(client, agent, q="124-81-00998") == [b["id"]]
    assert await ids(client, agent, q="100%_") == [b["id"]]  # LIKE wildcards are literal
    assert await ids(client, agent, q="%문의") == []  # "%" is not "any text"
    assert await ids(client, agent, q="없는말") == []


async def test_queue_item_shape(new_ticket, make_staff, client, clock):
    clock.now = kst(2026, 11, 24, 10)
    t = await new_ticket(company_name="한빛정밀", text="긴 질문 " * 100)
    _, agent = await make_staff("agent", "seoul")
    item = (await client.get("/api/v1/tickets", headers=agent)).json()["items"][0]
    assert item["number"] == t["number"] and item["company_name"] == "한빛정밀"
    assert item["center"]["code"] == "seoul" and item["status_label"]
    assert len(item["excerpt"]) <= 120 and item["overdue"] is False
    assert item["first_response_due"].startswith("2026-11-24T05:00:00")  # 14:00 KST in UTC


async def test_service_level_scoping_for_agents(db, new_ticket, make_staff):
    t = await new_ticket(center="busan")
    agent, _ = await make_staff("agent", "seoul")
    with pytest.raises(tickets_errors.TicketNotFound):
        await tickets_queue.get_ticket_detail(db, staff=agent, ticket_id=t["id"])
    page = await tickets_queue.list_queue(db, staff=agent)
    assert page.items == [] and page.total == 0


async def test_total_is_counted_up_to_a_cap(new_ticket, make_staff, client, monkeypatch):
    made = [(await new_ticket())["id"] for _ in range(4)]
    _, agent = await make_staff("agent", "seoul")
    monkeypatch.setattr(tickets_queue, "COUNT_CAP", 2)
    capped = (await client.get("/api/v1/tickets", headers=agent, params={"limit": 1})).json()
    assert capped["total"] == 2 and capped["total_capped"] is True
    short = (await client.get("/api/v1/tickets", headers=agent, params={"limit": 10})).json()
    assert short["total"] == 2 and short["total_capped"] is True and len(short["items"]) == 4
    monkeypatch.setattr(tickets_queue, "COUNT_CAP", 10)
    exact = (await client.get("/api/v1/tickets", headers=agent, params={"limit": 3, "offset": 3})).json()
    assert exact["total"] == 4 and exact["total_capped"] is False and len(exact["items"]) == 1
    beyond = (await client.get("/api/v1/tickets", headers=agent, params={"limit": 3, "offset": 9})).json()
    assert beyond["items"] == [] and beyond["total"] == 4
    # status=all is a history view, newest first.
    assert await ids(client, agent, status="all") == sorted(made, reverse=True)
