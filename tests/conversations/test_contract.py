"""The contract between the API and the channel adapters: button data and outbox records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api import contract
from api.contract import Action, Button, OutboxRecord, UpdateResult

EVERY_KIND = [contract.Feedback(3, True), contract.Feedback(12, False), contract.Pick(4, 2), contract.Human(7),
              contract.Human(), contract.Place(1), contract.Place(), contract.Skip("company"), contract.Skip("bizno"),
              *(contract.Simple(w) for w in ("submit", "change_place", "cancel", "new_question", "status", "resume",
                                             "append", "no_append", "ask_unparsed", "help")),
              contract.Rate(2**62, 5), contract.Comment(9), contract.Claim(2**63 - 1)]


@pytest.mark.parametrize("data", EVERY_KIND, ids=repr)
def test_every_button_round_trips_within_telegrams_64_bytes(data):
    encoded = contract.encode(data)
    assert len(encoded.encode()) <= contract.MAX_BUTTON_DATA_BYTES
    assert contract.decode(encoded) == data


def test_buttons_already_in_owners_chats_keep_their_meaning():
    assert contract.decode("rate:12:5") == contract.Rate(12, 5)  # sent by the API before this contract
    assert contract.decode("claim:44") == contract.Claim(44)
    assert contract.decode("newq") == contract.Simple("new_question")


@pytest.mark.parametrize("raw", ["", "rate:1:6", "rate:0:3", "rate:x:1", "pick:1", "fb:maybe:1", "addr:-1",
                                 "claim:99999999999999999999", "human:1:2", "skip:everything", "rate:١:٣"])
def test_anything_else_means_nothing(raw):
    assert contract.decode(raw) is None


@given(st.text(max_size=80))
def test_decoding_never_fails(raw):
    contract.decode(raw)


def test_records_round_trip_through_json():
    record = OutboxRecord(id=5, channel="telegram", address="-1001", chat_id=-1001, text="안내", kind="staff_notice",
                          buttons=((Button("담당하기", data="claim:5"), Button("콘솔", url="https://x.example/")),),
                          ticket_id=5, reply_to=77, lease_token="t")
    assert OutboxRecord.from_json(record.to_json()) == record
    result = UpdateResult(processed=(1, 2), duplicates=(3,), messages=(record,),
                          actions=(Action(type="answer_button", channel="telegram", button_id="q1", text="완료"),))
    assert UpdateResult.from_json(result.to_json()) == result
