"""Mask personal data before it reaches a log line or an error message."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_DIGITS = re.compile(r"\+?\d[\d\s-]{6,}\d[Xx]?")


def mask_email(value: str) -> str:
    """``li.lei@example.com`` → ``l***@example.com``."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def mask_digits(value: str) -> str:
    """Keep the last 4 digits of phone and ID numbers: ``13812345678`` → ``*******5678``."""

    def _mask(match: re.Match[str]) -> str:
        text = match.group(0)
        return "*" * (len(text) - 4) + text[-4:]

    return _DIGITS.sub(_mask, value)


def mask_name(value: str) -> str:
    """Keep the first character of a name: ``张三丰`` → ``张**``, ``Alice`` → ``A****``."""
    value = value.strip()
    return value[:1] + "*" * (len(value) - 1) if value else value


def mask_pii(text: str) -> str:
    """Mask e-mail addresses and long digit runs (phones, ID numbers) inside free text."""
    return mask_digits(mask_email(text))
