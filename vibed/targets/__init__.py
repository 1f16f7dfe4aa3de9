"""Notification targets: new releases sent through Apprise (ntfy, Telegram, Discord, email, JSON, …).

    urls.py        an Apprise URL checked (unknown scheme → the fix), masked for every answer and log,
                   and the pieces of it that are secret
    schedule.py    when a target's pending releases are due: at once, after the flood window, at the
                   digest period's boundary, or when quiet hours end (pure: no I/O)
    compose.py     the message: one release, a folded burst, or a digest grouped by language and artist
    registry.py    the notify_targets table: create, list, get, delete; and what health says of them (SQL)
    outbox.py      one row per (event, matching target) until delivered or dead; a message claims every
                   due row of its target at once (SQL); the rows are made by the events write itself
                   (vibed/store/outbox.py, the outbox core), in its transaction
    send.py        one message through Apprise, in a worker thread (Apprise is synchronous), its log
                   lines scrubbed of the target's secrets
    sender.py      the actor: finds due targets, sends one message per target at a time, records it
    service.py     ``open_targets``: the sender as a handle for the composition root

The HTTP routes (``/api/notify/targets``) stay with the app (vibed/http/targets_api.py).
"""
