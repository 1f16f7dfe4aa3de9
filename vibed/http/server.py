"""Hypercorn's configuration for the connections the gateway hands over (see vibed/delivery/asgi.py)."""

from __future__ import annotations

import logging

from hypercorn.config import Config as HypercornConfig


def hypercorn_config(host: str, port: int, *, grace: float) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # rendered as JSON by vibed.logs
    config.graceful_timeout = grace
    config.keep_alive_timeout = 30
    config.h11_max_incomplete_size = 32 * 1024  # header flood -> 4xx, not memory
    return config
