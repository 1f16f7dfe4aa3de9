"""An upstream body read as it streams and decoded with a bound: never more than the cap in memory.

A gzip answer of 64 KB can inflate to 64 MB, and one network chunk alone to about a thousand
times its size, so neither "read it, then check" nor a decoder that inflates a whole chunk at
once is bounded.  Here the raw bytes go through ``zlib`` with ``max_length``: at most the room
left under the cap is inflated at a time.  Once the body passes the cap, reading stops by
cancelling the read (httpcore then closes the connection; its generators end with the
cancellation instead of being left half-read).

Only ``gzip`` and ``deflate`` are asked for (``ACCEPT_ENCODING``) and understood; another
encoding is an error the caller reports as upstream trouble.
"""

from __future__ import annotations

import zlib

import httpx
import trio

ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The decoded body passed the cap."""


class UnknownEncoding(Exception):
    """The answer's ``Content-Encoding`` is neither gzip, deflate nor identity."""


def _inflater(encoding: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # | 32: a gzip or a zlib header, whichever came
    raise UnknownEncoding(f"unsupported Content-Encoding {encoding[:40]!r}")


async def read_capped(streamed: httpx.Response, cap: int) -> bytes:
    """The decoded body of ``streamed`` (opened with ``stream=True``); ``BodyTooLarge`` past ``cap``
    bytes, ``zlib.error`` for a corrupt body."""
    inflater = _inflater(streamed.headers.get("content-encoding", ""))
    body = bytearray()
    corrupt: zlib.error | None = None
    with trio.CancelScope() as reading:
        async for raw in streamed.aiter_raw():
            if reading.cancel_called:
                continue  # already over: the next read raises Cancelled inside httpcore
            pending = raw
            try:
                while pending and len(body) <= cap:
                    if inflater is None:
                        body += pending[:cap + 1 - len(body)]
                        break
                    body += inflater.decompress(pending, cap + 1 - len(body))
                    pending = inflater.unconsumed_tail
            except zlib.error as exc:  # "gzip" over a body that is not: stop reading as past the cap,
                corrupt = exc  # never by leaving the loop (httpcore's generator would be left half-read)
                reading.cancel()
            if len(body) > cap:
                reading.cancel()
    if corrupt is not None:
        raise corrupt
    if len(body) > cap:
        raise BodyTooLarge(cap)
    if inflater is not None:
        body += inflater.flush()
        if len(body) > cap:
            raise BodyTooLarge(cap)
    return bytes(body)
