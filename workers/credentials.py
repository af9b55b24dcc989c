"""Credentials never reach output: a URL's password, in any message or log line, is masked.

`REDIS_URL=redis://:password@host:6379/0` is printed `redis://:***@host:6379/0`; the same holds
for a user and password in any other URL (an exchange mirror, an object store) and for a
`password=` query parameter.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# scheme://[user]:password@ -> keeps the user, masks the password (up to the last @ of the
# authority: a password may hold : and @)
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*):(?P<secret>[^\s/]+)@")
# scheme://token@ (a bare secret before the host, as some services take it)
_TOKEN = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://)(?P<secret>[^\s/:@]+)@")
_QUERY = re.compile(r"(?P<head>[?&](?:password|passwd|secret|token)=)(?P<secret>[^\s&]+)", re.I)


def mask(text: str) -> str:
    """`text` with every URL credential replaced by ***."""
    if "://" not in text and "=" not in text:
        return text
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _TOKEN.sub(lambda m: f"{m['head']}{MASK}@" if m["secret"] != MASK else m[0], text)
    return _QUERY.sub(lambda m: f"{m['head']}{MASK}", text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks credentials in a record's message and traceback text.

    Attach it to a handler: every record the handler emits, from any library, is masked.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def mask_logging(logger: logging.Logger | None = None) -> None:
    """Mask credentials on every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
