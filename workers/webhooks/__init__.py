"""Webhook intake: vendor change notifications turned into the same job rows a poll makes.

`receive(settings, redis, Delivery, now) -> Answer` is the whole of it (the web process's
`/webhooks/<vendor>` views call it); `signatures` checks a delivery, `events` reads it,
`intake` records it, `stats` counts it for `productsync status`. Polling stays on: vendors
may deliver late, twice, out of order or never, and the poll catches what a webhook missed.
"""

from workers.webhooks.receive import SYSTEMS, Answer, Delivery, receive

__all__ = ["SYSTEMS", "Answer", "Delivery", "receive"]
