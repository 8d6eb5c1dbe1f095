"""Citizen IDs (GB 11643-1999, 18 characters with an ISO 7064 MOD 11-2 check digit) and phone
numbers: validation, and masking for lists and logs (等保 2.0: personal data minimised)."""

from __future__ import annotations

import re

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")


def citizen_id_problem(value: str) -> str | None:
    """None if `value` is a well-formed citizen ID, else what is wrong with it (in Chinese)."""
    v = (value or "").strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return "身份证号码应为18位（前17位为数字，末位为数字或X）"
    if _CHECK[sum(int(c) * w for c, w in zip(v[:17], _WEIGHTS)) % 11] != v[17]:
        return "身份证号码校验位错误"
    return None


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def mask_id(value: str | None) -> str:
    v = (value or "").strip()
    if len(v) < 10:
        return "*" * len(v)
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def mask_phone(value: str | None) -> str:
    v = (value or "").strip()
    if len(v) < 7:
        return "*" * len(v)
    return v[:3] + "*" * (len(v) - 7) + v[-4:]


def mask_text(text: str) -> str:
    """Every citizen ID and mobile number inside free text, masked."""
    text = _ID.sub(lambda m: m.group(1) + "********" + m.group(2), text or "")
    return _PHONE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_problem(value: str) -> str | None:
    """None if `value` is a well-formed unified social credit code (GB 32100-2015), else why not."""
    v = (value or "").strip().upper()
    if len(v) != 18 or any(c not in _USCC_CHARS for c in v):
        return "统一社会信用代码应为18位（数字或大写字母，不含I、O、Z、S、V）"
    s = sum(_USCC_CHARS.index(c) * w for c, w in zip(v[:17], _USCC_WEIGHTS))
    if _USCC_CHARS[(31 - s % 31) % 31] != v[17]:
        return "统一社会信用代码校验位错误"
    return None


def phone_problem(value: str) -> str | None:
    return None if re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}", (value or "").strip()) else "联系电话格式不正确"
