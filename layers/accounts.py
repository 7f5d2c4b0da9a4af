"""The rules for staff accounts, in one place for the web form and the command line: what a user name may
be, and which passwords are refused (too short, or easy to guess: zxcvbn's estimate, which knows common
passwords, names, dates, keyboard patterns and repeats, and the words of this site)."""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

ROLES = ("admin", "editor")
PASSWORD_MIN, PASSWORD_MAX = 10, 256
#: zxcvbn's score (0-4) a password must reach: 3 is "safely unguessable" (about 10^8 guesses), far beyond
#: what the log-in rate limit lets an attacker try.
PASSWORD_SCORE = 3
#: Words an attacker would try first on this site.
SITE_WORDS = ("qingdao", "青岛", "scenemap", "scene", "map", "商圈", "shangquan", "admin", "editor", "staff")
_NAME = re.compile(r"[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9._@\-\u4e00-\u9fff]{1,63}")


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be a user name, or None: 2-64 letters, digits, Chinese characters and . _ @ -,
    starting with a letter, digit or Chinese character."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return ("用户名无效：须为 2–64 个字母、数字、汉字或 . _ @ -，且以字母、数字或汉字开头 · A user name is 2-64 letters, "
                "digits, Chinese characters or . _ @ -, starting with a letter, digit or Chinese character")
    return None


def check_password(password: str, name: str = "") -> str | None:
    """Why ``password`` is refused for user ``name``, or None."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        return f"密码至少 {PASSWORD_MIN} 个字符 · The password needs at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"密码最多 {PASSWORD_MAX} 个字符 · The password may have at most {PASSWORD_MAX} characters"
    verdict = zxcvbn(password[:100], user_inputs=[name, *SITE_WORDS])
    if verdict["score"] < PASSWORD_SCORE:
        hint = verdict["feedback"]["warning"] or "Add more words or characters that are not a pattern."
        return ("密码太容易被猜到（常见密码、重复、键盘序列、日期或用户名），请用几个不相关的词组成更长的密码 · "
                f"This password is too easy to guess: {hint}")
    return None
