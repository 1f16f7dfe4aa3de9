"""Web Push: new releases to closed tabs and phones (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID).

    crypto.py         aes128gcm encryption for one browser, the VAPID key and its JWT, key checks
    keys.py           the deployment's VAPID key: made by the first daemon that starts, kept in push_vapid
    message.py        a stored event as the push message (≤ 4 KiB) and its RFC 8030 headers
    subscriptions.py  push_subscriptions: subscribe (upsert by endpoint), unsubscribe, health (SQL)
    outbox.py         push_outbox: the heads of line claimed in batches, outcomes recorded (SQL); the rows
                      are made in the writer's transaction (vibed/store/outbox.py), as webhooks' are
    send.py           one attempt over a vetted connection (the webhooks' SSRF rules) → an ``Attempt``
    sender.py         the actor: many subscriptions' heads in flight, one per subscription, in order
    service.py        ``open_push``: the key and the sender as the handle the composition root holds

The HTTP routes (``/api/push/…`` and ``/sw.js``) are in vibed/http/push_api.py.
"""
