"""Everything one simulator run remembers, shared by its upstream and control routes."""

from __future__ import annotations

from typing import Any

import attrs
import trio

from vibed.simulator.catalogue import Catalogue
from vibed.simulator.faults import Canned, FaultBook, json_bytes
from vibed.simulator.settings import SimSettings
from vibed.simulator.stats import Stats


@attrs.define(eq=False)
class SimState:
    settings: SimSettings
    catalogue: Catalogue
    faults: FaultBook
    stats: Stats = attrs.field(factory=Stats)
    tokens: dict[str, float] = attrs.field(factory=dict)  # Spotify access token -> trio time it expires
    tokens_issued: int = 0

    @classmethod
    def start(cls, settings: SimSettings) -> SimState:
        faults = FaultBook()
        for fault in settings.faults:
            faults.add(fault)
        return cls(settings, Catalogue(settings, started=trio.current_time()), faults)


def json_body(value: Any) -> bytes:
    """UTF-8 JSON; a lone surrogate (a hostile title posted to /_sim/release) goes out as its JSON escape,
    as an upstream that sends one does, instead of failing the whole page with a 500."""
    return json_bytes(value)


def json_canned(value: Any, status: int = 200) -> Canned:
    return Canned(status, json_body(value))
