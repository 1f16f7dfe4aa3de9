"""The one JSON reader of what clients send (request bodies, WebSocket messages): nesting bounded first.

    loads_shallow(b'{"name": "mine"}', max_depth=16)  ->  {"name": "mine"}

A body within the size limit can still be 30,000 brackets deep, and ``json.loads`` recurses once per
bracket: past the interpreter's limit it raises ``RecursionError``, which no handler expects (a 500).
So the depth is counted first, skipping strings (a name may hold brackets), and a document nested deeper
than ``max_depth`` is refused like any other bad JSON: ``ValueError``.
"""

from __future__ import annotations

import json
import re

# a string (with its escapes) or one bracket; strings are skipped whole so their brackets do not count
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


MAX_BODY_DEPTH = 16  # a request body: the deepest the API takes is 3 (a push subscription's keys)


class TooDeep(ValueError):
    """The document is nested deeper than allowed."""


def depth_of(text: str) -> int:
    """How deep the brackets of ``text`` nest (outside strings)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads_shallow(raw: str | bytes, *, max_depth: int) -> object:
    """``json.loads(raw)``, or ``ValueError`` (``TooDeep`` when nested deeper than ``max_depth``)."""
    text = raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw
    if depth_of(text) > max_depth:
        raise TooDeep(f"nested deeper than {max_depth} levels")
    return json.loads(text)
