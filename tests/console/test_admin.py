"""Admin pages: staff accounts, centres (hours, closures, Telegram group, canned responses)."""

from __future__ import annotations

from datetime import date, time, timedelta

import httpx
from sqlalchemy import select

from api.centers import service as centers_service
from api.centers.models import Center, CenterClosure
from api.console.models import CannedResponse
from api.staff.models import Staff
from tests.console.conftest import PASSWORD, login, post_form, text_of


async def _staff(db, username: str) -> Staff:
    return await db.scalar(select(Staff).where(Staff.username == username).execution_options(populate_existing=True))


async def _center(db, code: str) -> Center:
    return await db.scalar(select(Center).where(Center.code == code).execution_options(populate_existing=True))


async def test_create_an_agent_who_can_then_sign_in(app, admin_client, db):
    response = await post_form(admin_client, "/console/admin/staff", "/console/admin/staff",
                               {"username": "kim.busan", "display_name": "김상담", "password": "first-pass-1",
                                "role": "agent", "center": "busan", "telegram_user_id": "777001"},
                               follow_redirects=True)
    assert "'kim.busan' 계정을 만들었습니다" in text_of(response)
    staff = await _staff(db, "kim.busan")
    assert staff.role == "agent" and staff.telegram_user_id == 777001
    assert staff.center_id == (await _center(db, "busan")).id
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await login(c, "kim.busan", "first-pass-1")).status_code == 303
        assert "부산 스마트제조혁신센터 대기열" in (await c.get("/console/queue")).text


async def test_staff_creation_errors_are_shown(admin_client, db):
    for data, message in (({"username": "a1", "password": "short", "role": "agent", "center": "seoul"},
                           "비밀번호는 8자 이상"),
                          ({"username": "a2", "password": "long-enough", "role": "agent", "center": ""},
                           "소속 센터가 필요합니다"),
                          ({"username": "a3", "password": "long-enough", "role": "agent", "center": "seoul",
                            "telegram_user_id": "abc"}, "숫자로 입력해 주세요")):
        response = await post_form(admin_client, "/console/admin/staff", "/console/admin/staff", data,
                                   follow_redirects=True)
        assert message in text_of(response), message
        assert await _staff(db, data["username"]) is None


async def test_deactivate_reset_password_and_link_telegram(app, admin_client, db, agent):
    agent_id, username = agent.id, agent.username
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        await login(c, username)
        assert (await c.get("/console/queue")).status_code == 200
        response = await post_form(admin_client, "/console/admin/staff", f"/console/admin/staff/{agent_id}/password",
                                   {"password": "reset-pass-99"}, follow_redirects=True)
        assert "비밀번호를 재설정했습니다" in text_of(response)
        assert (await c.get("/console/queue")).status_code == 303  # signed out
        c.cookies.clear()
        assert (await login(c, username, PASSWORD)).status_code == 401
        assert (await login(c, username, "reset-pass-99")).status_code == 303

        response = await post_form(admin_client, "/console/admin/staff", f"/console/admin/staff/{agent_id}/active",
                                   {"active": "0"}, follow_redirects=True)
        assert "비활성화했습니다" in text_of(response)
        assert (await c.get("/console/queue")).status_code == 303
        assert (await _staff(db, username)).is_active is False
        await post_form(admin_client, "/console/admin/staff", f"/console/admin/staff/{agent_id}/active", {"active": "1"})
        assert (await _staff(db, username)).is_active is True

    response = await post_form(admin_client, "/console/admin/staff", f"/console/admin/staff/{agent_id}/telegram",
                               {"telegram_user_id": "555123"}, follow_redirects=True)
    assert "텔레그램 계정을 연결했습니다" in text_of(response)
    assert (await _staff(db, username)).telegram_user_id == 555123
    await post_form(admin_client, "/console/admin/staff", f"/console/admin/staff/{agent_id}/telegram",
                    {"telegram_user_id": ""})
    assert (await _staff(db, username)).telegram_user_id is None


async def test_telegram_id_is_unique_and_an_admin_cannot_deactivate_themself(admin_client, db, admin, make_staff):
    admin_id = admin.id
    first, _ = await make_staff("agent", "seoul")
    second, _ = await make_staff("agent", "seoul")
    first_id, second_id, first_name = first.id, second.id, first.username
    await post_form(admin_client, "/console/admin/staff", f"/console/admin/staff/{first_id}/telegram",
                    {"telegram_user_id": "42"})
    response = await post_form(admin_client, "/console/admin/staff", f"/console/admin/staff/{second_id}/telegram",
                               {"telegram_user_id": "42"}, follow_redirects=True)
    assert f"이미 '{first_name}' 계정에 연결되어 있습니다" in text_of(response)
    response = await post_form(admin_client, "/console/admin/staff", f"/console/admin/staff/{admin_id}/active",
                               {"active": "0"})
    assert response.status_code == 403 and "자기 자신의 계정은 비활성화할 수 없습니다" in text_of(response)
    assert (await db.get(Staff, admin_id)).is_active


async def test_centre_settings_closures_and_canned_responses(admin_client, db):
    page = "/console/admin/centers/busan"
    response = await post_form(admin_client, page, page,
                               {"phone": "051-000-1234", "opens": "08:30", "closes": "17:30",
                                "telegram_chat_id": "-1001234567890"}, follow_redirects=True)
    assert "센터 정보를 저장했습니다" in text_of(response)
    busan = await _center(db, "busan")
    busan_id = busan.id  # a plain value: a failed request below rolls the shared session back
    assert (busan.phone, busan.opens, busan.closes, busan.telegram_chat_id) == (
        "051-000-1234", time(8, 30), time(17, 30), -1001234567890)
    response = await post_form(admin_client, page, page, {"opens": "18:00", "closes": "09:00"},
                               follow_redirects=True)
    assert "업무 시작 시각은 종료 시각보다 빨라야 합니다" in text_of(response)
    response = await post_form(admin_client, "/console/admin/centers/seoul", "/console/admin/centers/seoul",
                               {"opens": "09:00", "closes": "18:00", "telegram_chat_id": "-1001234567890"},
                               follow_redirects=True)
    assert "이미 부산 스마트제조혁신센터에 연결되어 있습니다" in text_of(response)

    day = date.today() + timedelta(days=20)
    response = await post_form(admin_client, page, f"{page}/closures", {"day": day.isoformat(), "reason": "창립기념일"},
                               follow_redirects=True)
    assert "휴무일로 추가했습니다" in text_of(response) and "창립기념일" in text_of(response)
    response = await post_form(admin_client, page, f"{page}/closures", {"day": day.isoformat()},
                               follow_redirects=True)
    assert "이미 휴무일로 등록되어 있습니다" in text_of(response)
    closure = await db.scalar(select(CenterClosure).where(CenterClosure.center_id == busan_id))
    assert closure.day == day
    await post_form(admin_client, page, f"{page}/closures/{closure.id}/delete")
    assert await db.scalar(select(CenterClosure).where(CenterClosure.center_id == busan_id)) is None

    response = await post_form(admin_client, page, f"{page}/canned",
                               {"title": "신청 안내", "body": "공고를 확인해 주세요."}, follow_redirects=True)
    assert "상용구를 저장했습니다" in text_of(response) and "신청 안내" in text_of(response)
    canned = await db.scalar(select(CannedResponse).where(CannedResponse.center_id == busan_id))
    canned_id = canned.id
    await post_form(admin_client, page, f"{page}/canned",
                    {"canned_id": str(canned_id), "title": "신청 안내", "body": "바뀐 내용"})
    assert (await db.get(CannedResponse, canned_id, populate_existing=True)).body == "바뀐 내용"
    response = await post_form(admin_client, page, f"{page}/canned", {"title": "신청 안내", "body": "중복"},
                               follow_redirects=True)
    assert "제목의 상용구가 이미 있습니다" in text_of(response)
    await post_form(admin_client, page, f"{page}/canned/{canned_id}/delete")
    assert await db.scalar(select(CannedResponse).where(CannedResponse.center_id == busan_id)) is None


async def test_unknown_centre_is_a_404_page(admin_client):
    response = await admin_client.get("/console/admin/centers/atlantis")
    assert response.status_code == 404 and "센터를 찾을 수 없습니다" in text_of(response)
    response = await admin_client.get("/console/no-such-page")
    assert response.status_code == 404 and "페이지를 찾을 수 없습니다" in text_of(response)


async def test_centre_contacts_are_edited_with_an_audit_event(admin_client, db, admin):
    page = "/console/admin/centers/pohang"
    html = text_of(await admin_client.get(page))
    assert 'name="phone" value="054-223-2243"' in html and "전화 출처: <span class=\"wrap\">https://www.smart-factory.kr" in html
    assert "포항 스마트제조혁신센터 연락처\n· 전화 054-223-2243\n· 누리집 http://www.ptp.or.kr/" in html
    assert "아직 바뀐 적이 없습니다" in html

    form = {"phone": " 054-223-2243 ", "address": "경상북도 포항시 남구  지곡로 394", "website": "www.ptp.or.kr",
            "office_hours": "평일 09:00~18:00", "opens": "09:00", "closes": "18:00", "telegram_chat_id": ""}
    response = await post_form(admin_client, page, page, form, follow_redirects=True)
    html = text_of(response)
    assert "센터 정보를 저장했습니다" in html
    pohang = await _center(db, "pohang")
    assert (pohang.phone, pohang.address, pohang.website, pohang.office_hours) == (
        "054-223-2243", "경상북도 포항시 남구 지곡로 394", "https://www.ptp.or.kr", "평일 09:00~18:00")
    (event,) = await centers_service.center_events(db, pohang.id)
    assert event.actor_id == admin.id and event.actor_label == admin.display_name
    assert event.detail == {"address": [None, "경상북도 포항시 남구 지곡로 394"],
                            "website": ["http://www.ptp.or.kr/", "https://www.ptp.or.kr"],
                            "office_hours": [None, "평일 09:00~18:00"]}
    assert ('주소: <span class="wrap">(없음)</span> → <span class="wrap">경상북도 포항시 남구 지곡로 394</span>' in html
            and "누리집 출처" not in html)  # an edited value shows no source

    # Saving the same values again changes nothing and records nothing; clearing a field is recorded.
    response = await post_form(admin_client, page, page, form, follow_redirects=True)
    assert "바뀐 내용이 없습니다" in text_of(response)
    response = await post_form(admin_client, page, page, {**form, "address": ""}, follow_redirects=True)
    events = await centers_service.center_events(db, pohang.id)
    assert len(events) == 2 and events[0].detail == {"address": ["경상북도 포항시 남구 지곡로 394", None]}
    response = await post_form(admin_client, page, page, {**form, "office_hours": "가" * 101}, follow_redirects=True)
    assert response.status_code == 422 and "운영 시간은(는) 100자 이내로" in text_of(response)

    # The Korean name opens the same page.
    assert (await admin_client.get("/console/admin/centers/포항")).status_code == 200
