"""Admin pages: staff accounts and centres (hours, closures, Telegram group, canned responses)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.centers import service as centers_service
from api.centers.contact import format_contact
from api.centers.data import CENTERS_BY_CODE
from api.centers.service import list_centers
from api.console import service
from api.console.web import (AdminUser, ConsoleDB, ConsoleRoute, PostAdmin, parse_date, parse_int, redirect,
                             render, staff_principal, to_kst)
from api.db import utcnow
from api.errors import Unprocessable
from api.staff import service as staff_service

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


# -- staff ------------------------------------------------------------------------------------------------

@router.get("/console/admin/staff")
async def staff_page(request: Request, db: ConsoleDB, user: AdminUser) -> Response:
    rows = await service.list_staff(db)
    centers = await list_centers(db)
    now = utcnow()
    return render(request, "admin_staff.html", rows=rows, centers=centers, now=now)


@router.post("/console/admin/staff")
async def staff_create(request: Request, db: ConsoleDB, user: PostAdmin,
                       username: Annotated[str, Form(max_length=64)] = "",
                       display_name: Annotated[str, Form(max_length=100)] = "",
                       password: Annotated[str, Form(max_length=256)] = "",
                       role: Annotated[str, Form(max_length=16)] = "agent",
                       center: Annotated[str, Form(max_length=32)] = "",
                       telegram_user_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    telegram_id = parse_int(telegram_user_id, "텔레그램 사용자 ID")
    staff = await staff_service.create_staff(db, username=username, password=password, role=role,
                                             center_code=center or None, display_name=display_name.strip())
    if telegram_id is not None:
        await service.link_telegram(db, staff_id=staff.id, telegram_user_id=telegram_id)
    return redirect(request, "/console/admin/staff", f"'{staff.username}' 계정을 만들었습니다.")


@router.post("/console/admin/staff/{staff_id}/active")
async def staff_active(request: Request, db: ConsoleDB, user: PostAdmin, staff_id: int,
                       active: Annotated[str, Form(max_length=5)] = "") -> Response:
    staff = await service.set_staff_active(db, staff_id=staff_id, active=active == "1", actor_id=user.id)
    message = "계정을 다시 활성화했습니다." if staff.is_active else "계정을 비활성화했습니다. 모든 로그인이 종료됩니다."
    return redirect(request, "/console/admin/staff", f"{staff.username}: {message}")


@router.post("/console/admin/staff/{staff_id}/password")
async def staff_password(request: Request, db: ConsoleDB, user: PostAdmin, staff_id: int,
                         password: Annotated[str, Form(max_length=256)] = "") -> Response:
    staff = await service.reset_staff_password(db, staff_id=staff_id, password=password)
    return redirect(request, "/console/admin/staff",
                    f"{staff.username}: 비밀번호를 재설정했습니다. 기존 로그인은 종료됩니다.")


@router.post("/console/admin/staff/{staff_id}/telegram")
async def staff_telegram(request: Request, db: ConsoleDB, user: PostAdmin, staff_id: int,
                         telegram_user_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    telegram_id = parse_int(telegram_user_id, "텔레그램 사용자 ID")
    staff = await service.link_telegram(db, staff_id=staff_id, telegram_user_id=telegram_id)
    message = "텔레그램 계정을 연결했습니다." if telegram_id is not None else "텔레그램 연결을 해제했습니다."
    return redirect(request, "/console/admin/staff", f"{staff.username}: {message}")


# -- centres ---------------------------------------------------------------------------------------------

@router.get("/console/admin/centers")
async def centers_page(request: Request, db: ConsoleDB, user: AdminUser) -> Response:
    centers = await list_centers(db)
    return render(request, "admin_centers.html", centers=centers)


@router.get("/console/admin/centers/{code}")
async def center_page(request: Request, db: ConsoleDB, user: AdminUser, code: str) -> Response:
    center = await service.get_center(db, code)
    today = to_kst(utcnow()).date()
    closures = await service.list_closures(db, center.id, since=today - timedelta(days=30))
    canned = await service.list_canned(db, center.id)
    events = await centers_service.center_events(db, center.id)
    built_in = CENTERS_BY_CODE.get(center.code)
    return render(request, "admin_center.html", center=center, closures=closures, canned=canned, today=today,
                  events=events, labels=centers_service.SETTING_LABELS, contact=format_contact(center),
                  sources={f: s for f, s in (built_in.sources if built_in else {}).items()
                           if getattr(center, f) == getattr(built_in, f)})


@router.post("/console/admin/centers/{code}")
async def center_update(request: Request, db: ConsoleDB, user: PostAdmin, code: str,
                        phone: Annotated[str, Form(max_length=40)] = "",
                        address: Annotated[str, Form(max_length=250)] = "",
                        website: Annotated[str, Form(max_length=350)] = "",
                        office_hours: Annotated[str, Form(max_length=150)] = "",
                        opens: Annotated[str, Form(max_length=8)] = "09:00",
                        closes: Annotated[str, Form(max_length=8)] = "18:00",
                        telegram_chat_id: Annotated[str, Form(max_length=24)] = "") -> Response:
    center = await service.get_center(db, code)
    changes = await centers_service.update_center(
        db, center=center, actor=staff_principal(request).staff, phone=phone, address=address, website=website,
        office_hours=office_hours, opens=service.parse_time(opens, "업무 시작"),
        closes=service.parse_time(closes, "업무 종료"), telegram_chat_id=_telegram_chat_id(telegram_chat_id))
    message = "센터 정보를 저장했습니다." if changes else "바뀐 내용이 없습니다."
    return redirect(request, f"/console/admin/centers/{center.code}", message)


def _telegram_chat_id(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise Unprocessable("텔레그램 그룹 채팅 ID는 숫자입니다. (그룹은 보통 -100으로 시작합니다)") from None


@router.post("/console/admin/centers/{code}/closures")
async def closure_add(request: Request, db: ConsoleDB, user: PostAdmin, code: str,
                      day: Annotated[str, Form(max_length=10)] = "",
                      reason: Annotated[str, Form(max_length=200)] = "") -> Response:
    center = await service.get_center(db, code)
    parsed = parse_date(day, "휴무일")
    if parsed is None:
        raise Unprocessable("휴무일 날짜를 입력해 주세요.")
    await service.add_closure(db, center=center, day=parsed, reason=reason)
    return redirect(request, f"/console/admin/centers/{code}", f"{parsed.isoformat()}을(를) 휴무일로 추가했습니다.")


@router.post("/console/admin/centers/{code}/closures/{closure_id}/delete")
async def closure_delete(request: Request, db: ConsoleDB, user: PostAdmin, code: str, closure_id: int) -> Response:
    center = await service.get_center(db, code)
    await service.remove_closure(db, center=center, closure_id=closure_id)
    return redirect(request, f"/console/admin/centers/{code}", "휴무일을 삭제했습니다.")


@router.post("/console/admin/centers/{code}/canned")
async def canned_save(request: Request, db: ConsoleDB, user: PostAdmin, code: str,
                      title: Annotated[str, Form(max_length=200)] = "",
                      body: Annotated[str, Form(max_length=8000)] = "",
                      canned_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    center = await service.get_center(db, code)
    await service.save_canned(db, center_id=center.id, canned_id=parse_int(canned_id, "상용구 번호"), title=title,
                              body=body, actor_id=user.id)
    return redirect(request, f"/console/admin/centers/{code}#canned", "상용구를 저장했습니다.")


@router.post("/console/admin/centers/{code}/canned/{canned_id}/delete")
async def canned_delete(request: Request, db: ConsoleDB, user: PostAdmin, code: str, canned_id: int) -> Response:
    center = await service.get_center(db, code)
    await service.delete_canned(db, center_id=center.id, canned_id=canned_id)
    return redirect(request, f"/console/admin/centers/{code}#canned", "상용구를 삭제했습니다.")
