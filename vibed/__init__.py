"""vibed: a real-time new-releases daemon for Indian-language music.

Where things are:
    vibed/sources/    where a release enters (JioSaavn, Spotify clients)
    vibed/actors/     the pipeline: scheduler, token bucket, fetchers, writer
    vibed/store/      where it is stored (PostgreSQL, embedded or real; Redis) - the asyncio bridge
    vibed/delivery/   where it leaves (broadcaster, SSE and WebSocket streams)
    vibed/http/       the HTTP API, health and the live page
    vibed/daemon.py   the wiring: channels are created there, actors started under the supervisor
"""

__version__ = "0.1.0"
