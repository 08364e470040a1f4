"""The console in a real browser: Debian's chromium driven by Playwright against the app served by uvicorn.

Set ``HOTLINE_SCREENSHOT_DIR`` to keep desktop and phone-width screenshots of the pages visited.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from api.app import create_app
from api.console.models import CannedResponse
from api.db import make_engine, make_sessionmaker
from api.kb import suggestions as kb_suggestions
from api.kb.models import KbEntry, KbRevision
from api.outbox.models import OutboxMessage
from api.staff.service import create_staff
from api.tickets.models import Ticket
from tests.conftest import make_settings
from tests.browser import DESKTOP, PHONE, launched, needs_chromium
from tests.servers import serve
from tests.console.conftest import PASSWORD, make_entry, make_ticket

pytestmark = needs_chromium


@dataclass
class Site:
    url: str
    sessionmaker: object
    tickets: dict
    users: dict

    async def scalar(self, statement):
        async with self.sessionmaker() as session:
            return await session.scalar(statement)

    async def scalars(self, statement):
        async with self.sessionmaker() as session:
            return list((await session.scalars(statement)).all())


@pytest.fixture
async def site(fresh_database_url):
    engine = make_engine(fresh_database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as db:
        await create_staff(db, username="seoul.agent", password=PASSWORD, role="agent", center_code="seoul",
                           display_name="서울 상담원")
        admin = await create_staff(db, username="hq.admin", password=PASSWORD, role="admin", display_name="본부 관리자")
        await make_entry(db, author=admin)
        first = await make_ticket(db, "seoul", chat_id=7001, text="스마트공장 구축하면 국비 얼마나 나오나요?",
                                  company_name="가산정밀", contact_name="김대표", phone="010-2222-3333",
                                  candidates=[{"entry_id": "ratio-government", "topic": "support-ratio",
                                               "title": "정부지원 비율은 얼마인가요?", "score": 0.38}])
        second = await make_ticket(db, "seoul", chat_id=7002, text="공장이 경기도 화성에 있는데 여기로 문의하면 되나요?",
                                   company_name="화성테크")
        busan = await make_ticket(db, "busan", chat_id=7003, text="부산 공장 MES 문의", company_name="녹산기계")
        db.add(CannedResponse(center_id=first.center_id, title="공고 확인 안내",
                              body="자세한 내용은 올해 스마트공장 보급·확산 사업 공고를 확인해 주세요."))
        await db.commit()
    app = create_app(make_settings(fresh_database_url))
    server, task, port = await serve(app)
    try:
        yield Site(url=f"http://127.0.0.1:{port}", sessionmaker=sessionmaker,
                   tickets={"first": first, "second": second, "busan": busan},
                   users={"agent": "seoul.agent", "admin": "hq.admin"})
    finally:
        server.should_exit = True
        await task
        await engine.dispose()


@pytest.fixture
async def browser():
    async with launched() as chromium:
        yield chromium


async def shot(page, name: str) -> None:
    folder = os.environ.get("HOTLINE_SCREENSHOT_DIR")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(Path(folder) / f"{name}-{label}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


async def sign_in(page, site: Site, who: str, *, start: str = "/console/queue") -> None:
    await page.goto(site.url + start)
    assert "/console/login" in page.url
    await page.fill("input[name=username]", site.users[who])
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(site.url + start)


async def test_agent_works_the_queue(site, browser):
    context = await browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = await context.new_page()
    first, second, busan = site.tickets["first"], site.tickets["second"], site.tickets["busan"]
    await sign_in(page, site, "agent")

    # Only the own centre's tickets.
    queue = page.locator("table.queue")
    assert await queue.locator(f"tr[data-ticket='{first.number}']").count() == 1
    assert await queue.locator(f"tr[data-ticket='{second.number}']").count() == 1
    assert await page.locator(f"text={busan.number}").count() == 0
    assert "서울 스마트제조혁신센터 대기열" in await page.inner_text("h1")
    for link in ("대기열", "로그아웃"):  # the top menu is shown in full on a desktop screen
        assert await page.locator(f"header.topbar :is(a, button):has-text('{link}')").is_visible()
    assert not await page.locator("summary:has-text('메뉴')").is_visible()
    await shot(page, "queue")

    # Claim and reply, with a canned response.
    await page.click(f"a:has-text('{first.number}')")
    await page.wait_for_url(f"{site.url}/console/tickets/{first.id}")
    assert "정부지원 비율은 얼마인가요?" in await page.inner_text("body")  # what the bot tried
    await page.click("button:has-text('담당 맡기')")
    await page.wait_for_selector("text=내가 담당 중")
    await page.select_option("select[data-canned-target]", label="공고 확인 안내")
    body = await page.input_value("#reply-body")
    assert body.startswith("자세한 내용은 올해 스마트공장")
    await page.fill("#reply-body", "국비는 총사업비의 50% 이내입니다. " + body)
    await shot(page, "ticket")
    await page.click("button:has-text('답변 보내기')")
    await page.wait_for_selector("text=답변을 보냈습니다")
    assert await page.locator(".msg.staff:has-text('국비는 총사업비의 50% 이내입니다.')").count() == 1
    queued = await site.scalars(select(OutboxMessage).where(OutboxMessage.kind == "staff_reply"))
    assert len(queued) == 1 and queued[0].chat_id == 7001 and queued[0].status == "pending"
    assert "국비는 총사업비의 50% 이내입니다." in queued[0].text

    # Transfer the other one to the Gyeonggi centre.
    await page.goto(f"{site.url}/console/tickets/{second.id}")
    await page.click("summary:has-text('다른 센터로 이관')")
    await page.select_option("select[name=center]", value="gyeonggi")
    await page.fill("textarea[name=reason]", "공장 소재지가 경기도 화성시입니다.")
    await page.click("button:has-text('이관')")
    await page.wait_for_url(f"{site.url}/console/queue")
    assert "문의를 이관했습니다" in await page.inner_text("body")
    assert await page.locator(f"tr[data-ticket='{second.number}']").count() == 0
    moved = await site.scalar(select(Ticket).where(Ticket.id == second.id))
    assert moved.center_id != first.center_id and moved.assignee_id is None

    # No admin pages, no other centre's ticket, even by URL.
    response = await page.goto(f"{site.url}/console/admin/staff")
    assert response.status == 403 and "관리자만 볼 수 있는 페이지입니다" in await page.inner_text("body")
    response = await page.goto(f"{site.url}/console/kb")
    assert response.status == 403
    response = await page.goto(f"{site.url}/console/tickets/{busan.id}")
    assert response.status == 404 and "문의를 찾을 수 없습니다" in await page.inner_text("body")
    response = await page.goto(f"{site.url}/console/tickets/{second.id}")  # transferred away
    assert response.status == 404
    await context.close()


async def test_admin_edits_previews_publishes_and_rolls_back(site, browser):
    context = await browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = await context.new_page()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await sign_in(page, site, "admin")
    await page.click("header.topbar a:has-text('지식베이스')")  # through the top menu, as an admin does
    await page.wait_for_url(f"{site.url}/console/kb")
    await page.click("a:has-text('정부지원 비율은 얼마인가요?')")
    await page.wait_for_url(f"{site.url}/console/kb/entries/ratio-government")

    new_answer = "2026년 공고 기준으로 총사업비의 60% 이내를 정부가 지원해요. 올해 공고를 꼭 확인해 주세요."
    await page.fill("textarea[name=answer]", new_answer)
    await page.fill("input[name=note]", "2026년 비율 반영")
    await page.click("button:has-text('저장 (게시 안 함)')")
    await page.wait_for_selector("text=2판을 저장했습니다")

    # Test a question against the draft before publishing.
    await page.fill("input[name=question]", "정부 지원금 비율 알려주세요")
    await page.click("button:has-text('테스트')")
    await page.wait_for_selector(".preview-result")
    result = await page.inner_text(".preview-result")
    assert "정부 지원금 비율 알려주세요" in result and "신뢰도" in result and "ratio-government" in result
    assert await page.input_value("textarea[name=answer]") == new_answer
    await shot(page, "kb-edit")

    await page.click("button:has-text('최신 2판 게시')")
    await page.wait_for_selector("text=2판을 게시했습니다")
    entry = await site.scalar(select(KbEntry).where(KbEntry.id == "ratio-government"))
    live = await site.scalar(select(KbRevision).where(KbRevision.id == entry.published_revision_id))
    assert live.number == 2 and live.answer == new_answer and live.author_label == "본부 관리자"

    await page.click("a:has-text('변경 내용') >> nth=0")
    await page.wait_for_selector("text=1판 → 2판")
    assert "60% 이내" in await page.inner_text(".diff")
    await page.go_back()

    await page.click("li[data-revision='1'] button:has-text('이 판으로 되돌리기')")
    await page.wait_for_selector("text=1판 내용으로 3판을 만들었습니다")
    entry = await site.scalar(select(KbEntry).where(KbEntry.id == "ratio-government"))
    live = await site.scalar(select(KbRevision).where(KbRevision.id == entry.published_revision_id))
    first = await site.scalar(select(KbRevision).where(KbRevision.entry_id == "ratio-government",
                                                       KbRevision.number == 1))
    assert live.number == 3 and live.answer == first.answer

    # The other admin pages render (and are kept for a look when screenshots are on).
    for path, name in (("/console/queue", "admin-queue"), ("/console/dashboard", "dashboard"),
                       ("/console/unanswered", "unanswered"), ("/console/admin/staff", "staff"),
                       ("/console/admin/centers/seoul", "center")):
        response = await page.goto(site.url + path)
        assert response.status == 200, path
        await shot(page, name)
    await context.close()


async def test_admin_accepts_a_suggested_phrasing_in_one_click(site, browser):
    async with site.sessionmaker() as db:
        await kb_suggestions.suggest(db, entry_id="ratio-government", question="나랏돈은 몇 퍼나 대주나요", source="pick")
        await kb_suggestions.suggest(db, entry_id="ratio-government", question="오늘 점심 메뉴 추천 좀", source="helpful")
        await db.commit()
    context = await browser.new_context(viewport=PHONE, locale="ko-KR", is_mobile=True, has_touch=True)
    page = await context.new_page()
    await sign_in(page, site, "admin", start="/console/kb")
    await page.click("a:has-text('질문 표현 제안')")
    await page.wait_for_url(f"{site.url}/console/kb/suggestions")
    await shot(page, "kb-suggestions")
    accept_row = page.locator("tr", has=page.locator("input[value='나랏돈은 몇 퍼나 대주나요']"))
    await accept_row.locator("button:has-text('반영')").click()
    await page.wait_for_selector("text=2판으로 게시했습니다")
    reject_row = page.locator("tr", has=page.locator("input[value='오늘 점심 메뉴 추천 좀']"))
    await reject_row.locator("button:has-text('거절')").click()
    await page.wait_for_selector("text=검토할 제안이 없습니다")
    entry = await site.scalar(select(KbEntry).where(KbEntry.id == "ratio-government"))
    live = await site.scalar(select(KbRevision).where(KbRevision.id == entry.published_revision_id))
    assert live.number == 2 and live.paraphrases[-1] == "나랏돈은 몇 퍼나 대주나요"
    assert "오늘 점심 메뉴 추천 좀" not in live.paraphrases
    await context.close()


async def test_phone_width_menu_and_sign_out(site, browser):
    context = await browser.new_context(viewport=PHONE, locale="ko-KR", is_mobile=True, has_touch=True)
    page = await context.new_page()
    await sign_in(page, site, "agent")
    # The queue fits the screen: no horizontal scrolling.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert not await page.locator("nav a:has-text('대기열')").is_visible()  # folded into the menu
    await page.click("summary:has-text('메뉴')")
    assert await page.locator("nav a:has-text('대기열')").is_visible()
    await page.click("button:has-text('로그아웃')")
    await page.wait_for_selector("text=로그아웃했습니다")
    response = await page.goto(site.url + "/console/queue")
    assert "/console/login" in page.url and response.status == 200
    await context.close()


async def test_an_error_page_leads_back_to_the_form_with_what_was_typed(site, browser):
    context = await browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = await context.new_page()
    await sign_in(page, site, "admin", start="/console/admin/centers/seoul")
    before = await site.scalars(select(CannedResponse.title))

    # A NUL pasted into a form: the console's 422 page, nothing stored, and back to the form as it was typed.
    body = "사업자등록증 사본을\x00 보내 주세요."
    form = page.locator("form:has(button:has-text('상용구 추가'))")
    await form.locator("input[name=title]").fill("서류 안내")
    await form.locator("textarea[name=body]").fill(body)
    async with page.expect_response(lambda r: r.url.endswith("/canned")) as answer:
        await form.locator("button:has-text('상용구 추가')").click()
    assert (await answer.value).status == 422
    text = await page.inner_text("main")
    assert "입력 확인 필요" in text and "입력에 저장할 수 없는 값이 있습니다" in text and "보낸 내용은 저장되지 않았습니다" in text
    await shot(page, "error-422")
    await page.click("a:has-text('이전 화면으로')")
    await page.wait_for_url(f"{site.url}/console/admin/centers/seoul")
    form = page.locator("form:has(button:has-text('상용구 추가'))")
    assert await form.locator("input[name=title]").input_value() == "서류 안내"
    assert (await form.locator("textarea[name=body]").input_value()).replace("\x00", "") == body.replace("\x00", "")
    assert await site.scalars(select(CannedResponse.title)) == before

    # An unknown address: the Korean 404 page with the menu.
    response = await page.goto(f"{site.url}/console/no-such-page")
    assert response.status == 404 and response.headers["content-type"].startswith("text/html")
    assert "요청한 페이지를 찾을 수 없습니다" in await page.inner_text("main")
    assert await page.locator("a:has-text('대기열로')").count() == 1
    await shot(page, "error-404")
    await context.close()


async def test_admin_finds_and_clears_stale_entries(site, browser):
    """The dashboard counts the served entries that need a look (an older year than the programme year, 2026 in
    the tests, or a review more than a year old); its link opens the KB list filtered to them; reviewing one for
    2026 takes it off the list and the count."""
    from datetime import timedelta

    from api.kb import entries as kb_entries
    from api.staff.models import Staff

    today = kb_entries.kst_today()
    async with site.sessionmaker() as db:
        admin = await db.scalar(select(Staff).where(Staff.username == "hq.admin"))
        common = dict(topic="support-limits", source_title="중소벤처기업부 보도자료", source_url="https://www.mss.go.kr/",
                      author=admin, publish=True)
        await kb_entries.create_entry(db, entry_id="limits-now", title="올해 지원 한도는?", paraphrases=["올해 한도"],
                                      answer="2026년 공고 기준 회당 최대 2억원이에요.", year=2026,
                                      reviewed_on=today - timedelta(days=3), **common)
        await kb_entries.create_entry(db, entry_id="limits-now-2023", title="2023년 지원 한도는?",
                                      answer="2023년에는 선도형 최대 2억원이었어요.", year=2023, history_of="limits-now",
                                      reviewed_on=today - timedelta(days=3), **common)
        await kb_entries.create_entry(db, entry_id="limits-levels", title="단계별 한도는?", paraphrases=["단계별 한도"],
                                      answer="2026년 공고 기준 단계별 한도예요.", year=2026,
                                      reviewed_on=today - timedelta(days=400), **common)
        await db.commit()

    context = await browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = await context.new_page()
    await sign_in(page, site, "admin", start="/console/dashboard")
    kpi = page.locator("#kpi-stale")
    # ratio-government (2025, never reviewed) and limits-levels (reviewed 400 days ago); not the fresh entry nor
    # its 2023 history entry.
    assert (await kpi.locator(".v").inner_text()).strip() == "2"
    assert "점검 필요 지식 항목 (2026년 기준)" in await kpi.inner_text()
    await shot(page, "dashboard-stale")

    await kpi.click()
    await page.wait_for_url(f"{site.url}/console/kb?status=stale")
    assert await page.locator("select[name=status]").input_value() == "stale"
    rows = page.locator("table.cards tbody tr")
    assert await rows.count() == 2
    listed = await page.inner_text("table.cards")
    assert "정부지원 비율은 얼마인가요?" in listed and "단계별 한도는?" in listed
    assert "올해 지원 한도는?" not in listed and "2023년 지원 한도는?" not in listed
    ratio = page.locator("tr:has-text('정부지원 비율은 얼마인가요?') td[data-label='사업연도 · 검토']")
    assert "2025년" in await ratio.inner_text() and "예전 사업연도" in await ratio.inner_text()
    assert await ratio.get_attribute("data-stale") == "year unreviewed"
    levels = page.locator("tr:has-text('단계별 한도는?') td[data-label='사업연도 · 검토']")
    assert await levels.get_attribute("data-stale") == "review" and "검토 1년 지남" in await levels.inner_text()
    await shot(page, "kb-stale")

    # Review the 2025 entry for 2026: it leaves the list and the count.
    await page.click("a:has-text('정부지원 비율은 얼마인가요?')")
    await page.wait_for_url(f"{site.url}/console/kb/entries/ratio-government")
    assert "예전 사업연도" in await page.inner_text(".spread")
    await page.fill("input[name=year]", "2026")
    await page.fill("input[name=reviewed_on]", today.isoformat())
    await page.fill("textarea[name=answer]", "2026년 공고 기준으로 총사업비의 50% 이내를 정부가 지원해요.")
    await page.click("button:has-text('저장하고 게시')")
    await page.wait_for_selector("text=2판을 저장했습니다")
    assert "예전 사업연도" not in await page.inner_text(".spread")
    await page.goto(f"{site.url}/console/kb?status=stale")
    assert await page.locator("table.cards tbody tr").count() == 1
    await page.goto(f"{site.url}/console/dashboard")
    assert (await page.locator("#kpi-stale .v").inner_text()).strip() == "1"


async def framing_site(target: str):
    """Another site on this host (same-site with the console: only the port differs) that frames ``target``."""
    html = (f'<!doctype html><html><body><h1>framing page</h1>'
            f'<iframe id="victim" src="{target}" width="900" height="600"></iframe></body></html>').encode()

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": html})

    return await serve(app)


async def test_a_framing_page_cannot_show_the_console(site, browser):
    context = await browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = await context.new_page()
    await sign_in(page, site, "agent")  # signed in: the lax session cookie goes to same-site frames too
    ticket = site.tickets["first"]
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    server, task, port = await framing_site(f"{site.url}/console/tickets/{ticket.id}")
    try:
        await page.goto(f"http://127.0.0.1:{port}/")
        await page.wait_for_timeout(1000)
        frame = next(f for f in page.frames if f != page.main_frame)
        assert not frame.url.startswith(site.url), frame.url  # the browser refused to show it (an error page)
        assert ticket.number not in await page.content()
        try:
            shown = await frame.content()
        except Exception:  # an opaque error page cannot be read at all: nothing of the console either
            shown = ""
        assert ticket.number not in shown and "답변" not in shown
        assert any("frame-ancestors" in m or "X-Frame-Options" in m for m in messages), messages
        await shot(page, "framing-refused")
    finally:
        server.should_exit = True
        await task
    await context.close()


async def test_console_pages_keep_to_the_content_security_policy(site, browser):
    context = await browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = await context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    await sign_in(page, site, "admin")
    first = site.tickets["first"]
    for path in ("/console/queue", f"/console/tickets/{first.id}", "/console/dashboard", "/console/kb",
                 "/console/kb/entries/ratio-government", "/console/kb/entries/ratio-government/diff?to=1",
                 "/console/kb/suggestions",
                 "/console/unanswered", "/console/admin/staff", "/console/admin/centers",
                 "/console/admin/centers/seoul", "/console/account"):
        response = await page.goto(site.url + path)
        assert response.status == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'"), path
    # The stylesheet and script still work under the policy: the page is styled and the menu script ran.
    assert await page.evaluate("getComputedStyle(document.querySelector('.topbar')).position") == "sticky"
    assert await page.evaluate("document.querySelector('details.menu').open")
    assert violations == []
    await context.close()


async def test_a_long_unbroken_line_does_not_squeeze_the_queue(site, browser):
    async with site.sessionmaker() as db:
        await make_ticket(db, "seoul", chat_id=7099, text="가" * 3900, company_name="긴줄공업")
    context = await browser.new_context(viewport=DESKTOP, locale="ko-KR")
    page = await context.new_page()
    await sign_in(page, site, "agent")
    widths = await page.evaluate("""[...document.querySelectorAll('table.cards thead th')]
                                    .map(th => th.getBoundingClientRect().width)""")
    assert min(widths) > 48, widths  # every column keeps a readable width (squeezed, they were one character)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await shot(page, "queue-long-line")
    await context.close()
