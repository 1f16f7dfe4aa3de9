"""What the three outboxes' senders share (webhooks, Web Push, notification targets), above their SQL.

    loop.py      ``OutboxLoop``: sweep the outbox on a wake-up or every poll, prune, wait out outages
    service.py   ``open_outbox``: a sender as the handle the composition root holds (wake, health, drain)
    backoff.py   ``next_wait``: when a failed delivery goes again, or None: dead-letter it
    reach.py     the SSRF rules: which URLs and resolved addresses a sender may reach (``VettedBackend``
                 pins a connection to the address it vetted)

The outbox SQL they share is vibed/store/outbox.py; each kind's room (vibed/webhooks, vibed/push,
vibed/targets) supplies only what differs: how one delivery is sent, what a permanent failure is, and
the names of its logs and metrics.
"""
