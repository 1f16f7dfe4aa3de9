"""Our language codes and the full lowercase names JioSaavn wants instead.

JioSaavn's ``languages`` parameter and ``L`` cookie take ``malayalam``, not ``ml``; its items carry the
name too.  Codes are what the rest of vibed speaks (config, API, database).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

LANGUAGES: Mapping[str, str] = MappingProxyType(  # code -> JioSaavn name
    {
        "ml": "malayalam",
        "hi": "hindi",
        "ta": "tamil",
        "te": "telugu",
        "kn": "kannada",
        "bn": "bengali",
        "mr": "marathi",
        "gu": "gujarati",
        "pa": "punjabi",
        "en": "english",
        "bho": "bhojpuri",
        "ur": "urdu",
        "or": "odia",
        "as": "assamese",
        "hr": "haryanvi",
        "raj": "rajasthani",
    }
)

_CODES_BY_NAME: Mapping[str, str] = MappingProxyType({name: code for code, name in LANGUAGES.items()})


def jiosaavn_name(code: str) -> str:
    """``"ml"`` -> ``"malayalam"``; an unknown code raises ``ValueError`` listing the allowed ones."""
    try:
        return LANGUAGES[code]
    except KeyError:
        allowed = ", ".join(LANGUAGES)
        raise ValueError(f"unknown language code {code!r}; allowed codes: {allowed}") from None


def code_for_name(name: str) -> str | None:
    """``"Malayalam"`` -> ``"ml"``; None for a name JioSaavn uses that we do not map."""
    return _CODES_BY_NAME.get(name.strip().casefold())
