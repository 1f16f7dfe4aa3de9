"""Text from outside, made one clean line: what may be stored, logged and shown.

Two kinds of character are removed:

- ``UNSTORABLE``: C0 controls but tab/newline/CR, DEL, C1 controls and lone UTF-16 surrogates.
  PostgreSQL refuses NUL in ``text`` and the driver refuses surrogates (they are not UTF-8), a
  log line holding one cannot be written to a UTF-8 stream, and orjson will not encode one.
- ``INVISIBLE``: characters that change how the text *around* them looks while showing nothing
  themselves: the bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069; a title
  ending in U+202E reverses "— Artist" after it in every notification, calendar and feed reader),
  zero-width space and word joiners, the byte-order mark, and the noncharacters U+FFFE/U+FFFF.
  ZWJ and ZWNJ (U+200C/U+200D) stay: Malayalam, Hindi and the other Indic scripts spell with them,
  and so do emoji; so do the bidi *marks* (LRM, RLM, ALM), which Urdu text uses and which do not
  reach past themselves.

Tabs, newlines and the Unicode line and paragraph separators fold to one space.
"""

from __future__ import annotations

import re

UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
INVISIBLE = re.compile("[\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff]")
_SPACES = re.compile("[\t\n\r\u2028\u2029]+")


def clean_line(value: str) -> str:
    """One line of text: unstorable and invisible characters removed, line breaks folded, ends stripped."""
    return _SPACES.sub(" ", INVISIBLE.sub("", UNSTORABLE.sub("", value))).strip()


def storable(value: str) -> str:
    """``value`` without what cannot be stored (NUL, controls, lone surrogates); otherwise as it was."""
    return UNSTORABLE.sub("", value)
