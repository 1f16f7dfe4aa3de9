"""Real-time delivery: the hub that fans stored events out to stream clients, and the bus that
carries them between instances (Redis).  Stream requests reach it from the edge (vibed/edge);
WebSocket sessions are vibed/websocket, SSE is here (sse.py).

    writer ─StoredEvent─► Broadcaster ─► Sequencer ─► Hub ─► SSE sockets / WebSocket sessions
                              │              ▲         └─ ring.py: recent frames, for replay.py
                              └─► Redis ─────┘ (redis_feed.py; every instance; the database fills gaps)
"""

from vibed.delivery.broadcaster import Broadcaster
from vibed.delivery.hub import Hub
from vibed.delivery.service import BusTiming, Delivery, open_delivery, serve_delivery

__all__ = ["Broadcaster", "BusTiming", "Delivery", "Hub", "open_delivery", "serve_delivery"]
