"""How owners are told to reach a centre (``api.centers.contact``): only known contacts, never an empty field."""

from __future__ import annotations

from dataclasses import dataclass

from api.centers.contact import contact_lines, format_contact, routing_note
from api.conversations.texts import acknowledgement


@dataclass
class Centre:
    name: str
    phone: str | None = None
    address: str | None = None
    website: str | None = None
    office_hours: str | None = None


FULL = Centre("포항 스마트제조혁신센터", phone="054-223-2243", address="경상북도 포항시 남구 지곡로 394",
              website="http://www.ptp.or.kr/", office_hours="평일 09:00~18:00")


def test_every_known_contact_in_the_owners_order():
    assert format_contact(FULL) == ("포항 스마트제조혁신센터 연락처\n· 전화 054-223-2243\n· 운영 시간 평일 09:00~18:00\n"
                                    "· 주소 경상북도 포항시 남구 지곡로 394\n· 누리집 http://www.ptp.or.kr/")


def test_unknown_and_blank_fields_are_left_out():
    centre = Centre("경기 스마트제조혁신센터", phone="031-500-3100", address="   ", website="", office_hours=None)
    assert contact_lines(centre) == ["· 전화 031-500-3100"]
    assert format_contact(centre) == "경기 스마트제조혁신센터 연락처\n· 전화 031-500-3100"
    nothing = Centre("대전 스마트제조혁신센터", address=" \n ")
    assert contact_lines(nothing) == [] and format_contact(nothing) == ""
    assert "None" not in format_contact(centre) and ":" not in format_contact(centre).split("\n", 1)[1]


def test_routing_note_names_the_centre_and_how_to_reach_it():
    assert routing_note([("경상북도 포항시", FULL)]).startswith(
        "경상북도 포항시 공장은 포항 스마트제조혁신센터 담당입니다.\n· 전화 054-223-2243\n")
    bare = Centre("대전 스마트제조혁신센터")
    assert routing_note([("대전광역시", bare)]) == "대전광역시 공장은 대전 스마트제조혁신센터 담당입니다."
    two = routing_note([("서울특별시", Centre("서울 스마트제조혁신센터", phone="02-944-6032")),
                        ("충청북도", Centre("충북 스마트제조혁신센터"))])
    assert two == ("공장이 있는 곳에 따라 담당 센터가 달라요.\n서울특별시: 서울 스마트제조혁신센터\n· 전화 02-944-6032\n"
                   "충청북도: 충북 스마트제조혁신센터")
    assert routing_note([]) == ""


def test_the_escalation_acknowledgement_closes_with_the_known_contact():
    base = dict(number="SF-2026-000001", center_name=FULL.name, promise="오늘 오후 3시까지",
                hours="평일 09:00~18:00 (공휴일 제외)")
    with_contact = acknowledgement(**base, contact=format_contact(FULL))
    assert with_contact.endswith("\n\n" + format_contact(FULL))
    without = acknowledgement(**base, contact=format_contact(Centre("대전 스마트제조혁신센터")) or None)
    assert without == acknowledgement(**base) and "연락처" not in without
