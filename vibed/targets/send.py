"""One message through Apprise, in a worker thread, its log lines scrubbed of every target's secrets.

Apprise is synchronous (requests, smtplib): ``send`` runs it with ``trio.to_thread.run_sync`` under the
sender's ``CapacityLimiter``, so the Trio loop never blocks and at most that many sends are in flight.
A send cut short by cancellation is abandoned to its thread (it ends by Apprise's own timeouts); its
rows' lease makes them due again.  A self-hosted service's message goes to the address the sender
vetted, and nowhere else (``pin``: vibed/targets/reach.py).

Apprise logs through the stdlib ``apprise`` logger, which vibed renders as JSON lines.  Such a line can
quote a URL, and an Apprise URL's secret need not look like a password (a Telegram bot token is its
host).  ``install_log_scrubber`` puts a filter on that logger that replaces every secret piece of every
target this process has sent to (``remember``) and keeps the warnings of the calling thread, so a failed
send can say why without saying where.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterable

import apprise
import attrs
import trio

from vibed.targets.compose import Message
from vibed.targets.reach import Pin, pinned
from vibed.targets.urls import quiet_now, scrub

_secrets: set[str] = set()
_ordered: list[str] = []  # longest first, so a secret inside another is not half-replaced
_lock = threading.Lock()
# the warnings of one send: a context variable, so a line Apprise logs from its own executor thread (which
# runs under a copy of the sending context) is still this send's
_errors: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("vibed_target_errors", default=None)


@attrs.frozen
class Sent:
    ok: bool
    error: str = ""  # one line, scrubbed: never the URL


def remember(secrets: Iterable[str]) -> None:
    new = set(secrets) - _secrets
    if new:
        with _lock:
            _secrets.update(new)
            _ordered[:] = sorted(_secrets, key=len, reverse=True)


def scrubbed(text: str) -> str:
    return scrub(text, list(_ordered))


class _Scrubber(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if quiet_now():  # vibed checking a URL: Apprise's complaints about it are vibed's 400, not a log line
            return False
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template only
            message = str(record.msg)
        record.msg, record.args = scrubbed(message), None
        errors = _errors.get()
        if errors is not None and record.levelno >= logging.WARNING:
            errors.append(record.msg)
        return True


def install_log_scrubber() -> None:
    logger = logging.getLogger("apprise")
    if not any(isinstance(f, _Scrubber) for f in logger.filters):
        logger.addFilter(_Scrubber())


def send_blocking(url: str, message: Message, pin: Pin | None = None) -> Sent:
    """In a worker thread: one notification to one Apprise URL (to ``pin``'s address only, when given)."""
    errors: list[str] = []
    token = _errors.set(errors)
    try:
        with pinned(pin):
            notifier = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
            if not notifier.add(url):
                return Sent(False, "Apprise no longer accepts this URL")
            # TEXT: what we send is plain text, so an HTML or Markdown service gets it escaped (a title
            # "<img src=x onerror=…>" is text in an e-mail, and "a & b" no parse error at Telegram)
            ok = bool(notifier.notify(body=message.body, title=message.title, body_format=apprise.NotifyFormat.TEXT))
        why = "; ".join(errors[-2:])[:300]
        return Sent(ok, "" if ok else (why or "Apprise reported a failure"))
    except Exception as exc:  # a plugin's own bug must not kill the sender: it is a failed send
        return Sent(False, scrubbed(f"{type(exc).__name__}: {exc}")[:300])
    finally:
        _errors.reset(token)


async def send(url: str, secrets: Iterable[str], message: Message, limiter: trio.CapacityLimiter, *,
               pin: Pin | None = None) -> Sent:
    remember(secrets)
    return await trio.to_thread.run_sync(send_blocking, url, message, pin, limiter=limiter, abandon_on_cancel=True)
