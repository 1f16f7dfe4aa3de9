"""WebSocket streams: the upgrade handshake, one session per socket, the client's messages."""
