"""A fake of Kakao's chatbot platform, speaking real HTTP, for the KakaoTalk channel's tests.

It plays both sides Kakao plays:
- the chatbot calling the skill: ``say`` and ``press`` POST SkillPayloads (with the secret header) to the skill URL,
  with a one-time ``callbackUrl`` when asked, and read the SkillResponse the owner would see;
- Kakao's servers: the callback endpoint (valid once, for a minute) and the Event API (``/v2/bots/{id}/talk``),
  which, as an event block connected to the skill does, calls the skill with the event's params and shows what it
  answers.

Every response the skill gives is checked against Kakao's documented limits, written out here on their own (not
imported from the code under test): version "2.0"; 1 to 3 outputs; simpleText at most 1,000 characters; at most
10 quick replies, labels at most 14 characters; an answer within 5 seconds.

Set ``HOTLINE_KAKAO_TRANSCRIPT`` to a file name to keep, as JSON, every SkillResponse shown and every Event API call
received (to look at what the skill sends).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import serve

TIMEOUT_SECONDS = 5.0
MAX_OUTPUTS = 3
MAX_TEXT = 1000
MAX_QUICK_REPLIES = 10
MAX_LABEL = 14
CALLBACK_VALID_SECONDS = 60.0
SECRET = "kakao-skill-secret-for-tests-0123"
REST_KEY = "kakao-rest-key-for-tests"
BOT_ID = "5f0000000000000000000001"
EVENT_NAME = "hotline_message"
SKILL_BLOCK = "block-fallback-0001"
EVENT_BLOCK = "block-event-0001"


def check_limits(body: dict[str, Any]) -> None:
    """Assert ``body`` is a SkillResponse Kakao accepts."""
    assert body.get("version") == "2.0", body
    if body.get("useCallback"):
        assert isinstance(body.get("data", {}).get("text", ""), str)
        return
    template = body["template"]
    outputs = template["outputs"]
    assert 1 <= len(outputs) <= MAX_OUTPUTS, f"{len(outputs)} outputs"
    for output in outputs:
        text = output["simpleText"]["text"]
        assert 0 < len(text) <= MAX_TEXT, f"simpleText of {len(text)} characters"
    quick = template.get("quickReplies", [])
    assert len(quick) <= MAX_QUICK_REPLIES, f"{len(quick)} quick replies"
    for reply in quick:
        assert 0 < len(reply["label"]) <= MAX_LABEL, f"label {reply['label']!r} over {MAX_LABEL} characters"
        assert reply["action"] in ("block", "message")
        if reply["action"] == "block":
            assert reply.get("blockId")


@dataclass
class Shown:
    """One skill answer as the owner sees it."""

    texts: list[str]
    quick: list[dict[str, Any]]
    via: str  # "skill", "callback" or "event"
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)

    @property
    def labels(self) -> list[str]:
        return [q["label"] for q in self.quick]

    def button(self, contains: str) -> dict[str, Any]:
        """The quick reply whose label or full text contains ``contains``."""
        for q in self.quick:
            if contains in q["label"] or contains in q.get("messageText", ""):
                return q
        raise AssertionError(f"no quick reply with {contains!r} in {self.labels}")


class FakeKakao:
    def __init__(self) -> None:
        self.skill_url = ""
        self.secret = SECRET
        self.http = httpx.AsyncClient(timeout=30)
        self.shown: dict[str, list[Shown]] = {}  # per botUserKey, in order
        self.events: list[dict[str, Any]] = []  # Event API calls as received (headers and body)
        self.callbacks: dict[str, dict[str, Any]] = {}  # token -> {"issued": t, "used": bool, "body": ...}
        self.refuse_users: dict[str, tuple[int, dict]] = {}  # botUserKey -> the Event API's refusal
        self.fail_next: list[tuple[int, dict]] = []  # the Event API's next answers: (status, body), then normal
        self.durations: list[float] = []
        self._tasks = itertools.count(1)
        self.app = Starlette(routes=[Route("/v2/bots/{bot}/talk", self._talk, methods=["POST"]),
                                     Route("/callback/{token}", self._callback, methods=["POST"])])

    async def start(self) -> "FakeKakao":
        self.server, self.task, port = await serve(self.app)
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        transcript = os.environ.get("HOTLINE_KAKAO_TRANSCRIPT")
        if transcript:
            shown = {user: [{"via": s.via, "body": s.raw} for s in items] for user, items in self.shown.items()}
            with open(transcript, "w", encoding="utf-8") as out:
                json.dump({"shown": shown, "events": self.events}, out, ensure_ascii=False, indent=1)
        await self.http.aclose()
        self.server.should_exit = True
        await self.task

    # --- the chatbot calling the skill --------------------------------------------------------------------------

    def payload(self, user: str, utterance: str, *, block: str = SKILL_BLOCK, extra: dict | None = None,
                params: dict | None = None, callback: bool = False) -> dict[str, Any]:
        request: dict[str, Any] = {
            "timezone": "Asia/Seoul", "params": {"ignoreMe": "true"}, "block": {"id": block, "name": "폴백 블록"},
            "utterance": utterance, "lang": None,
            "user": {"id": f"plusfriend-{user}", "type": "botUserKey",
                     "properties": {"botUserKey": user, "plusfriendUserKey": f"pf-{user}", "isFriend": True}}}
        if callback:
            token = secrets.token_hex(8)
            self.callbacks[token] = {"issued": time.monotonic(), "used": False, "user": user}
            request["callbackUrl"] = f"{self.base_url}/callback/{token}"
        return {"intent": {"id": block, "name": "폴백 블록"}, "userRequest": request,
                "bot": {"id": BOT_ID, "name": "스마트공장 상담"},
                "action": {"name": "hotline", "clientExtra": extra, "params": params or {}, "id": "action-1",
                           "detailParams": {}}}

    async def post_skill(self, payload: dict[str, Any], *, secret: str | None = None) -> httpx.Response:
        started = time.monotonic()
        response = await self.http.post(self.skill_url, json=payload,
                                        headers={"X-Hotline-Kakao-Secret": self.secret if secret is None else secret})
        self.durations.append(time.monotonic() - started)
        return response

    async def _ask(self, user: str, payload: dict[str, Any], via: str = "skill") -> Shown:
        response = await self.post_skill(payload)
        assert response.status_code == 200, response.text
        assert self.durations[-1] < TIMEOUT_SECONDS, f"skill answered in {self.durations[-1]:.2f} s"
        body = response.json()
        check_limits(body)
        if body.get("useCallback"):
            shown = Shown([body.get("data", {}).get("text", "")], [], "wait", body)
        else:
            shown = Shown([o["simpleText"]["text"] for o in body["template"]["outputs"]],
                          body["template"].get("quickReplies", []), via, body)
        self.shown.setdefault(user, []).append(shown)
        return shown

    async def say(self, user: str, text: str, *, callback: bool = False) -> Shown:
        return await self._ask(user, self.payload(user, text, callback=callback))

    async def press(self, user: str, reply: dict[str, Any]) -> Shown:
        """Tap a quick reply as Kakao does: its block is called, its messageText is the utterance and its
        ``extra`` comes back as ``action.clientExtra``."""
        return await self._ask(user, self.payload(user, reply.get("messageText", reply["label"]),
                                                  block=reply.get("blockId") or SKILL_BLOCK,
                                                  extra=reply.get("extra")))

    def messages(self, user: str) -> list[Shown]:
        return self.shown.get(user, [])

    async def wait_for(self, user: str, contains: str, *, timeout: float = 10) -> Shown:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for shown in self.messages(user):
                if contains in shown.text:
                    return shown
            await asyncio.sleep(0.05)
        raise AssertionError(f"nothing with {contains!r} shown to {user}: {[s.text[:60] for s in self.messages(user)]}")

    def count(self, user: str, contains: str) -> int:
        return sum(1 for s in self.messages(user) if contains in s.text)

    # --- Kakao's servers ------------------------------------------------------------------------------------------

    async def _callback(self, request: Request) -> JSONResponse:
        token = request.path_params["token"]
        entry = self.callbacks.get(token)
        if entry is None or entry["used"] or time.monotonic() - entry["issued"] > CALLBACK_VALID_SECONDS:
            return JSONResponse({"status": "FAIL", "message": "invalid callback"}, status_code=400)
        entry["used"] = True
        body = await request.json()
        entry["body"] = body
        check_limits(body)
        assert not body.get("useCallback")
        self.shown.setdefault(entry["user"], []).append(
            Shown([o["simpleText"]["text"] for o in body["template"]["outputs"]],
                  body["template"].get("quickReplies", []), "callback", body))
        return JSONResponse({"taskId": f"cb-{next(self._tasks)}", "status": "SUCCESS", "message": "OK",
                             "timestamp": int(time.time() * 1000)})

    async def _talk(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.events.append({"bot": request.path_params["bot"], "authorization": request.headers.get("authorization"),
                            "body": body})
        if request.headers.get("authorization") != f"KakaoAK {REST_KEY}" or request.path_params["bot"] != BOT_ID:
            return JSONResponse({"status": "FAIL", "message": "unauthorized"}, status_code=401)
        assert body["event"]["name"] == EVENT_NAME
        [user] = body["user"]
        assert user["type"] == "botUserKey"
        if self.fail_next:
            status, answer = self.fail_next.pop(0)
            return JSONResponse(answer, status_code=status)
        refusal = self.refuse_users.get(user["id"])
        if refusal is not None:
            return JSONResponse(refusal[1], status_code=refusal[0])
        # the event block's reply is the skill: Kakao calls it with the event's params
        asyncio.get_running_loop().create_task(self._ask(
            user["id"], self.payload(user["id"], "", block=EVENT_BLOCK, params=body.get("params")), via="event"))
        return JSONResponse({"taskId": f"task-{next(self._tasks)}", "status": "SUCCESS",
                             "timestamp": int(time.time() * 1000)})

    def events_to(self, user: str) -> list[dict[str, Any]]:
        return [e["body"] for e in self.events if e["body"]["user"][0]["id"] == user]
