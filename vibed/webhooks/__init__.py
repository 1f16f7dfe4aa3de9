"""Webhooks: signed deliveries of new releases to subscribed targets.

    signing.py   Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature)
    formats.py   a release as the generic JSON body, or Discord's or Slack's message
    targets.py   SSRF rules: which URLs and resolved addresses may be sent to
    send.py      one attempt: vetted connection, signed POST, no redirects → an ``Attempt``
    backoff.py   when the next attempt is due, or dead-letter

The outbox lives in ``vibed.webhooks.outbox``; the actor that drains it in
``vibed.webhooks.sender``; the API in ``vibed.http.webhooks_api``.
"""
