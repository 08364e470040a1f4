from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from api.companies.validation import (InvalidBusinessNumber, InvalidPhone, business_number_check_digit,
                                      format_business_number, is_valid_business_number, normalize_business_number,
                                      normalize_phone)

# Published registration numbers of large companies (check digits correct by construction of the NTS scheme).
VALID = ["124-81-00998", "220-81-62517", "2208162517", "１２４－８１－００９９８", " 124 81 00998 ", "124.81.00998"]


@pytest.mark.parametrize("raw", VALID)
def test_valid_business_numbers_are_normalised_to_digits(raw):
    digits = normalize_business_number(raw)
    assert len(digits) == 10 and digits.isdigit()
    assert digits in ("1248100998", "2208162517")


def test_check_digit_of_a_known_number():
    assert business_number_check_digit("124810099") == 8
    assert business_number_check_digit("220816251") == 7


@pytest.mark.parametrize("raw,code_hint", [
    ("124-81-00999", "검증번호"),        # wrong check digit
    ("1234567890", "검증번호"),
    ("124-81-0099", "10자리"),           # nine digits
    ("124-81-009981", "10자리"),         # eleven
    ("12a-81-00998", "10자리"),          # a letter
    ("", "10자리"),
    ("١٢٤٨١٠٠٩٩٨", "10자리"),            # Arabic-Indic digits are not accepted as ASCII digits after NFKC
])
def test_invalid_business_numbers_are_a_clear_422(raw, code_hint):
    with pytest.raises(InvalidBusinessNumber) as info:
        normalize_business_number(raw)
    assert info.value.status_code == 422 and info.value.code == "invalid_business_number"
    assert code_hint in info.value.detail


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_any_nine_digits_with_their_check_digit_validate_and_others_do_not(first_nine):
    good = first_nine + str(business_number_check_digit(first_nine))
    assert normalize_business_number(good) == good
    assert format_business_number(good) == f"{good[:3]}-{good[3:5]}-{good[5:]}"
    for wrong in set("0123456789") - {good[-1]}:
        assert not is_valid_business_number(first_nine + wrong)


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_any_text_is_either_valid_or_a_typed_error(raw):
    for fn, error in ((normalize_business_number, InvalidBusinessNumber), (normalize_phone, InvalidPhone)):
        try:
            fn(raw)
        except error:
            pass


@pytest.mark.parametrize("raw,expected", [
    ("010-1234-5678", "010-1234-5678"),
    ("01012345678", "010-1234-5678"),
    ("+82 10-1234-5678", "010-1234-5678"),
    ("+82 (0)10 1234 5678", "010-1234-5678"),
    ("821012345678", "010-1234-5678"),
    ("０１０．１２３４．５６７８", "010-1234-5678"),
    ("02-123-4567", "02-123-4567"),
    ("0212345678", "02-1234-5678"),
    ("031 123 4567", "031-123-4567"),
    ("054-1234-5678", "054-1234-5678"),
    ("070-1234-5678", "070-1234-5678"),
    ("1588-1234", "1588-1234"),
    ("011-123-4567", "011-123-4567"),
])
def test_phone_numbers_are_normalised(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["010-123-4567", "12345", "+1 415 555 0100", "010-1234-5678 내선 3", "099-123-4567",
                                 "02-12-345", "", "전화번호"])
def test_bad_phone_numbers_are_a_clear_422(raw):
    with pytest.raises(InvalidPhone) as info:
        normalize_phone(raw)
    assert info.value.status_code == 422 and info.value.code == "invalid_phone"
