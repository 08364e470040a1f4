"""Request and response bodies of the channel endpoints (the shapes of ``api.contract``'s records)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.contract import Action, OutboxRecord, UpdateResult

UpdateId = Annotated[int, Field(ge=0, le=2**63 - 1)]


class ButtonOut(BaseModel):
    text: str
    data: str | None = None
    url: str | None = None


class OutboxRecordOut(BaseModel):
    id: int
    channel: str
    address: str = Field(description="the chat as its channel knows it (a Telegram chat id, a KakaoTalk botUserKey)")
    chat_id: int
    text: str
    kind: str
    buttons: list[list[ButtonOut]] | None = Field(description="keyboard rows; button data per api.contract")
    ticket_id: int | None
    reply_to: int | None = Field(description="the channel message id to reply to (staff groups)")
    lease_token: str | None = Field(description="proof of the lease, for the report (null: nothing to report)")

    @classmethod
    def of(cls, record: OutboxRecord) -> "OutboxRecordOut":
        return cls.model_validate(record.to_json())


class ActionOut(BaseModel):
    type: Literal["answer_button", "clear_buttons"]
    channel: str
    address: str
    button_id: str
    message_id: int | None
    text: str
    alert: bool

    @classmethod
    def of(cls, action: Action) -> "ActionOut":
        return cls.model_validate(action.to_json())


class UpdateResultOut(BaseModel):
    processed: list[int] = Field(description="update ids processed by this call")
    duplicates: list[int] = Field(description="update ids processed before (nothing more to do)")
    messages: list[OutboxRecordOut] = Field(description="leased to the caller: deliver each chat's in order, then "
                                                        "report them (POST /api/v1/outbox/report)")
    actions: list[ActionOut] = Field(description="do at once: answer pressed buttons, clear used keyboards")

    @classmethod
    def of(cls, result: UpdateResult) -> "UpdateResultOut":
        return cls.model_validate(result.to_json())


class TelegramUpdateIn(BaseModel):
    """A Telegram ``Update`` object, exactly as the Bot API sent it."""

    model_config = ConfigDict(extra="allow")
    update_id: UpdateId


class TelegramUpdatesIn(BaseModel):
    updates: list[TelegramUpdateIn] = Field(min_length=1, max_length=100,
                                            description="a getUpdates batch (in order), or one webhook update")
    lease_seconds: float | None = Field(default=None, ge=1, le=300,
                                        description="lease the replies to the caller for immediate delivery")


class LocalMessageIn(BaseModel):
    address: str = Field(pattern=r"^\d{16,19}$", description="the local chat's number (from 2**53)")
    key: str = Field(min_length=1, max_length=100, description="unique per message: a repeat gets the same replies")
    text: str | None = Field(default=None, max_length=4000)
    button: str | None = Field(default=None, max_length=64, description="the data of a pressed button")
    display_name: str = Field(default="", max_length=200)


# --- KakaoTalk: the SkillPayload (only what the skill reads is checked; Kakao's other fields are kept) -------------


class _KakaoModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class KakaoUser(_KakaoModel):
    id: str = Field(min_length=1, max_length=200)
    type: str | None = None
    properties: dict[str, Any] | None = None


class KakaoBlock(_KakaoModel):
    id: str | None = Field(default=None, max_length=100)
    name: str | None = None


class KakaoUserRequest(_KakaoModel):
    utterance: str = Field(default="", max_length=4000)
    user: KakaoUser
    block: KakaoBlock | None = None
    callbackUrl: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")


class KakaoAction(_KakaoModel):
    params: dict[str, Any] | None = None
    clientExtra: dict[str, Any] | None = None

    @field_validator("clientExtra", mode="before")
    @classmethod
    def _no_extra(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else None  # Kakao sends null (or "null") without a button


class KakaoBot(_KakaoModel):
    id: str | None = Field(default=None, max_length=100)


class KakaoSkillIn(_KakaoModel):
    """Kakao i OpenBuilder's SkillPayload."""

    userRequest: KakaoUserRequest
    action: KakaoAction = Field(default_factory=KakaoAction)
    bot: KakaoBot | None = None


# --- the web chat ----------------------------------------------------------------------------------------------------


class WebStartIn(BaseModel):
    consent: bool = Field(description="the owner agreed to the use of what they write (the page asks first)")
    centre: str | None = Field(default=None, max_length=40, description="the centre whose website embeds the chat")


class WebMessageIn(BaseModel):
    key: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$", description="unique per message: a repeat gets the same replies")
    text: str | None = Field(default=None, max_length=4000)
    button: str | None = Field(default=None, max_length=64, description="the data of a pressed button")
    label: str | None = Field(default=None, max_length=200, description="the pressed button's text, for the history")


class WebItemOut(BaseModel):
    id: str = Field(description="'o<n>' for the owner's messages, 'b<n>' for the service's")
    mine: bool
    text: str
    buttons: list[list[ButtonOut]] = Field(default_factory=list)
    at: str


class WebItemsOut(BaseModel):
    messages: list[WebItemOut]
