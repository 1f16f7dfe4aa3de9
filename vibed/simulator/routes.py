"""The simulator's Quart-Trio app: upstream routes plus the ``/_sim`` control routes, over one state."""

from __future__ import annotations

from quart_trio import QuartTrio

from vibed.simulator.control import add_control_routes
from vibed.simulator.settings import SimSettings
from vibed.simulator.state import SimState
from vibed.simulator.upstream import add_upstream_routes


def create_app(settings: SimSettings) -> QuartTrio:
    """A fresh app with its own catalogue; call inside trio (growth runs on trio time)."""
    app = QuartTrio("vibed.simulator")
    state = SimState.start(settings)
    add_upstream_routes(app, state)
    add_control_routes(app, state)
    return app
