"""Real-time delivery: the hub that fans stored events out to SSE and WebSocket clients, the bus
that carries them between instances (Redis) and the gateway that owns the stream connections.

    writer ─StoredEvent─► Broadcaster ─► Sequencer ─► Hub ─► SSE sockets / WebSocket sessions
                              │              ▲
                              └─► Redis ─────┘ (every instance; the database fills gaps)
"""

from vibed.delivery.bus import Broadcaster
from vibed.delivery.hub import Hub
from vibed.delivery.service import BusTiming, Delivery, open_delivery, serve_delivery

__all__ = ["Broadcaster", "BusTiming", "Delivery", "Hub", "open_delivery", "serve_delivery"]
