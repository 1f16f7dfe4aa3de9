"""Every answer the edge writes, in the content coding its client asked for (vibed/codings.py).

``negotiated`` is applied where the edge writes an answer (the router's ``_write_nowait``), before
the preconditions: cached and uncached answers alike leave compressed, and a 304 or 412 is decided
against the ETag of the representation that would be sent.  An answer a coding may change carries
``Vary: Accept-Encoding`` in every coding, identity included; an encoded one its own ``ETag``,
``Content-Length`` and ``Content-Encoding``.

``Variants`` keeps what was made: the edge cache gives each entry one, so a held answer is
compressed once per coding, on its first request in that coding, not once per request.
"""

from __future__ import annotations

from vibed.codings import chosen, compress, encodable, tagged
from vibed.edge.respond import Answer, Header

VARY = (b"vary", b"Accept-Encoding")
Variants = dict[str, Answer]  # coding → the answer as sent in it (identity included)


def _encoded(answer: Answer, coding: str) -> Answer:
    body = compress(answer.body, coding)
    headers: list[Header] = []
    for key, value in answer.headers:
        if key == b"content-length":
            value = str(len(body)).encode()
        elif key == b"etag":
            value = tagged(value, coding)
        headers.append((key, value))
    return Answer(answer.status, (*headers, (b"content-encoding", coding.encode()), VARY), body)


def negotiated(answer: Answer, accept_encoding: str | None, variants: Variants | None = None) -> Answer:
    """``answer`` as it is sent to a client that said ``accept_encoding``; ``variants`` keeps what
    was made (an edge-cache entry's), so the next request in the same coding reuses it."""
    if not encodable(answer.status, answer.header(b"content-type"), answer.header(b"cache-control"),
                     answer.header(b"content-encoding")):
        return answer
    coding = chosen(accept_encoding, len(answer.body))
    if variants is not None and (made := variants.get(coding)) is not None:
        return made
    made = Answer(answer.status, (*answer.headers, VARY), answer.body) if coding == "identity" \
        else _encoded(answer, coding)
    if variants is not None:
        variants[coding] = made
    return made
