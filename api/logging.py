"""Log hygiene: personal data is masked and secrets are never written, whatever a log call passes in.

``PiiMaskingFilter`` is a ``logging.Filter`` for handlers. It rewrites each record before it is formatted:

- phone numbers keep their first and last group: ``010-1234-5678`` → ``010-****-5678``, ``02-123-4567`` →
  ``02-***-4567``, ``+82 10-1234-5678`` → ``+82 10-****-5678``, ``01012345678`` → ``010****5678``;
- business numbers (사업자등록번호) keep the first five digits: ``123-45-67890`` → ``123-45-*****``; ten bare
  digits are masked the same way when their check digit is right (``1234567891`` → ``12345*****``);
- resident registration numbers keep the birth date: ``900101-1234567`` → ``900101-*******``;
- e-mail addresses keep their first character and the domain: ``hong@example.com`` → ``h***@example.com``;
- people's names given as a named value (``contact_name=홍길동``, ``"display_name": "홍길동"``) keep the first
  character: ``홍**``;
- secrets become ``***``: the values this process knows (service token, secret key, Telegram token),
  ``Bearer …`` credentials, JWTs, Telegram bot tokens (also inside ``/bot<token>/`` URLs), and named values
  such as ``password=…``, ``"token": "…"``, ``Authorization: …`` or the console's cookies.

Tracebacks and stack information are masked too. Over-masking is preferred to a leak.

``install_log_masking(settings)`` attaches one process-wide filter to the handlers that exist (the root
logger's, uvicorn's and ``logging.lastResort``) and registers the settings' secrets; the app lifespan and
the ``hotline`` command call it. ``uvicorn_log_config()`` is uvicorn's logging configuration with the filter
on every handler and a root handler, for ``uvicorn.run(log_config=…)``.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"

# Named values whose whole value is a secret (keys compared case-insensitively, ``-`` read as ``_``).
SECRET_KEYS = frozenset({
    "password", "passwd", "pwd", "new_password", "current_password", "old_password", "secret", "secret_key",
    "client_secret", "token", "access_token", "refresh_token", "id_token", "service_token", "telegram_token",
    "bot_token", "api_key", "apikey", "authorization", "proxy_authorization", "cookie", "set_cookie",
    "x_telegram_bot_api_secret_token", "secret_token", "csrf", "csrf_token", "hl_session", "hl_login_csrf",
    "hl_flash", "session",
})
# Named values that are a person's name: the first character stays.
NAME_KEYS = frozenset({"contact_name", "contact", "display_name", "owner_name", "full_name", "first_name",
                       "last_name"})

_KEY = r"[A-Za-z][A-Za-z0-9_-]{1,40}"
# key=value, key: value, "key": "value", 'key': 'value' (the value quoted, or up to a delimiter).
_NAMED_VALUE = re.compile(
    r"""(?P<q>["']?)(?P<key>""" + _KEY + r""")(?P=q)(?P<sep>\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|(?i:bearer|basic|digest|token)\s+[^\s"',;&}\])]+"""
    r"""|[^\s"',;&}\])]+)""")
_BEARER = re.compile(r"\b(Bearer|bearer|BEARER)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_TELEGRAM_TOKEN = re.compile(r"(?<!\d)\d{5,12}:[A-Za-z0-9_-]{30,}")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*"
                    r"@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
# Digits glued to letters or other digits (hex ids, versions, decimals) are not numbers of a person.
_BEFORE = r"(?<![0-9A-Za-z.])"
_AFTER = r"(?![0-9A-Za-z])"
_RRN = re.compile(_BEFORE + r"(\d{6})([- ])[1-8]\d{6}" + _AFTER)
_BUSINESS_NUMBER = re.compile(_BEFORE + r"(\d{3})([-. ])(\d{2})([-. ])\d{5}" + _AFTER)
_BARE_TEN_DIGITS = re.compile(_BEFORE + r"\d{10}" + _AFTER)
# Mobile (010, 011, 016–019), 070, area codes (02, 031–064), optionally +82 / 82 without the leading 0.
_PHONE = re.compile(
    _BEFORE + r"(?P<prefix>(?:\+82[-. ]?|82[-. ])?\(?0?(?:1[016789]|70|2|3[1-3]|4[1-4]|5[1-5]|6[1-4])\)?)"
    r"(?P<s1>[-. )]?)(?P<middle>\d{3,4})(?P<s2>[-. ]?)(?P<last>\d{4})" + _AFTER)
_BUSINESS_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)


def _business_check_digit_ok(digits: str) -> bool:
    values = [int(c) for c in digits]
    total = sum(d * w for d, w in zip(values, _BUSINESS_WEIGHTS)) + (values[8] * 5) // 10
    return (10 - total % 10) % 10 == values[9]


def _norm_key(key: str) -> str:
    return key.lower().replace("-", "_")


def _mask_name(value: str) -> str:
    quote = value[0] if value[:1] in ("'", '"') and len(value) >= 2 and value[-1] == value[0] else ""
    inner = value[1:-1] if quote else value
    if not inner:
        return value
    return f"{quote}{inner[0]}{'*' * max(len(inner) - 1, 2)}{quote}"


def _named_value(match: re.Match[str]) -> str:
    key = _norm_key(match.group("key"))
    value = match.group("value")
    if key in SECRET_KEYS:
        quote = value[0] if value[:1] in ("'", '"') else ""
        masked = f"{quote}{MASK}{quote}"
    elif key in NAME_KEYS:
        masked = _mask_name(value)
    else:
        return match.group(0)
    return f"{match.group('q')}{match.group('key')}{match.group('q')}{match.group('sep')}{masked}"


def _phone(match: re.Match[str]) -> str:
    prefix = match.group("prefix")
    digits_before = re.sub(r"\D", "", prefix)
    if not prefix.startswith(("+", "82")) and not digits_before.startswith("0"):
        return match.group(0)  # "10-1234-5678" without a 0 or +82 is not read as a phone number
    middle = match.group("middle")
    return f"{prefix}{match.group('s1')}{'*' * len(middle)}{match.group('s2')}{match.group('last')}"


def _bare_ten(match: re.Match[str]) -> str:
    digits = match.group(0)
    if digits.startswith("0"):
        return digits  # a phone number without separators: the phone rule handles it
    return digits[:5] + "*****" if _business_check_digit_ok(digits) else digits


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with personal data masked and secrets replaced (see the module's description)."""
    if not text:
        return text
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    text = _TELEGRAM_TOKEN.sub(MASK, text)
    text = _JWT.sub(MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _NAMED_VALUE.sub(_named_value, text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _RRN.sub(lambda m: f"{m.group(1)}{m.group(2)}*******", text)
    text = _BUSINESS_NUMBER.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{m.group(4)}*****", text)
    text = _PHONE.sub(_phone, text)
    text = _BARE_TEN_DIGITS.sub(_bare_ten, text)
    return text


_PLAIN = (int, float, bool, type(None))
_formatter = logging.Formatter()


class PiiMaskingFilter(logging.Filter):
    """Masks personal data and secrets in every record it sees (attach it to handlers). Never drops a record."""

    def __init__(self, name: str = "", secrets: Iterable[str] = ()) -> None:
        super().__init__(name)
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self.add_secrets(secrets)

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def add_secrets(self, secrets: Iterable[str | None]) -> None:
        """Values to replace wherever they appear (short values are ignored: they would mask too much)."""
        with self._lock:
            known = set(self._secrets)
            known.update(s for s in secrets if s and len(s) >= 6)
            # Longest first, so a secret that contains another is replaced whole.
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def mask(self, text: str) -> str:
        return mask_text(text, self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._mask_record(record)
        except Exception:  # never lose a record (nor leak one) because of a formatting problem
            record.msg, record.args = MASK + " (log message could not be masked)", None
        return True

    def _mask_record(self, record: logging.LogRecord) -> None:
        if getattr(record, "_hotline_masked", False):
            return
        try:
            original = record.getMessage()
        except Exception:
            original = f"{record.msg} {record.args!r}"
            record.msg, record.args = original, None
        masked_message = self.mask(original)
        if record.args and masked_message != original:
            # Keep the arguments when masking them one by one is enough (formatters such as uvicorn's access
            # log read them); otherwise the record becomes its masked message.
            masked_args = self._mask_args(record.args)
            candidate_msg = self.mask(record.msg) if isinstance(record.msg, str) else record.msg
            record.msg, record.args = candidate_msg, masked_args
            try:
                rendered = record.getMessage()
                ok = self.mask(rendered) == rendered
            except Exception:
                ok = False
            if not ok:
                record.msg, record.args = masked_message, None
        elif masked_message != original or not isinstance(record.msg, str):
            record.msg, record.args = masked_message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        record._hotline_masked = True

    def _mask_args(self, args: Any) -> Any:
        if isinstance(args, Mapping):
            return {k: self._mask_arg(v) for k, v in args.items()}
        if isinstance(args, tuple):
            return tuple(self._mask_arg(v) for v in args)
        return self._mask_arg(args)

    def _mask_arg(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, _PLAIN):
            return value
        return self.mask(str(value))


_shared = PiiMaskingFilter()

# Loggers that do not propagate to the root logger, whose handlers need the filter too.
NON_PROPAGATING_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def shared_filter() -> PiiMaskingFilter:
    """The process-wide filter (also the factory named in ``uvicorn_log_config``)."""
    return _shared


def _settings_secrets(settings: Any) -> list[str]:
    if settings is None:
        return []
    return [getattr(settings, name, None) for name in ("service_token", "secret_key", "telegram_token")]


def install_log_masking(settings: Any = None, *, loggers: Iterable[str] = NON_PROPAGATING_LOGGERS
                        ) -> PiiMaskingFilter:
    """Attach the process-wide filter to every handler of the root logger, of ``loggers`` and to
    ``logging.lastResort``, and register the settings' secrets. Idempotent; call it again after logging is
    reconfigured (handlers added later do not have the filter)."""
    _shared.add_secrets(_settings_secrets(settings))
    targets = [logging.getLogger()] + [logging.getLogger(name) for name in loggers]
    handlers: list[logging.Handler] = [h for logger in targets for h in logger.handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if _shared not in handler.filters:
            handler.addFilter(_shared)
    return _shared


def configure_logging(settings: Any = None, *, level: int | str = logging.INFO) -> PiiMaskingFilter:
    """For a command's process: a root handler on stderr (if there is none yet) and the masking filter."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    return install_log_masking(settings)


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging configuration with the masking filter on every handler, plus a root handler so the
    service's own loggers (``api.*``) are written too."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["mask_personal_data"] = {"()": "api.logging.shared_filter"}
    config["formatters"]["plain"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["root"] = {"formatter": "plain", "class": "logging.StreamHandler",
                                  "stream": "ext://sys.stderr"}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "mask_personal_data"]
    config["root"] = {"handlers": ["root"], "level": level.upper()}
    config["loggers"]["httpx"] = {"level": "WARNING"}  # request URLs of outgoing calls: not needed at INFO
    return config
