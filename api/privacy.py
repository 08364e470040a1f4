"""What the retention rules share: the text that replaces removed personal data, and the default period."""

from __future__ import annotations

ANONYMISED_TEXT = "(보존 기간이 지나 삭제된 내용입니다)"
DEFAULT_RETENTION_DAYS = 3 * 365
