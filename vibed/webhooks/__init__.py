"""Webhooks: signed deliveries of new releases to subscribed targets, all in this room.

    subscriptions.py  the webhooks table: create, list, pause, delete (SQL)
    outbox.py         one row per (event, subscription) until delivered or dead (SQL); the rows are
                      made by the events write itself (vibed/store/releases.py), in its transaction
    sender.py         the actor: works each target's head of line, one attempt at a time
    send.py           one attempt: vetted connection, signed POST, no redirects → an ``Attempt``
    signing.py        Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature)
    formats.py        a release as the generic JSON body, or Discord's or Slack's message
    backoff.py        the outboxes' retry schedule policy (vibed/outbox/backoff.py), by its webhook name

The HTTP routes (``/api/webhooks``) stay with the app (vibed/http/webhooks_api.py, webhook_bodies.py):
they use its error shape, its authorisation and its listing parameters.  The SSRF rules (which URLs and
resolved addresses may be sent to) are every sender's: vibed/outbox/reach.py.
"""
