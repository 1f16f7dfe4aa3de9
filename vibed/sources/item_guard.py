"""One item at a time: an item its builder chokes on costs that item, never the page.

The item builders (``jiosaavn_items.release``, ``spotify_items.release``) turn any value into a
``Release`` or None.  Should one still raise on a shape nobody foresaw, the page around it would
be lost, and with it every good item beside it, round after round for as long as upstream keeps
the item.  ``releases_of`` builds each item on its own: one that raises is skipped with a
``release_unreadable`` line (the source, the item's id if it has one, the error), the rest are kept.

And a page holds at most ``ITEMS_MAX`` items: we ask for 50 (``VIBED_PAGE_SIZE``, at most 100), and 8 MB of
tiny items is 75,000 of them, whose building held the event loop for seconds and whose storing would
announce them all.  The first ``ITEMS_MAX`` are kept; the page is one ``page_capped`` line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vibed.logs import get_logger
from vibed.vocab.messages import Release
from vibed.vocab.text import clean_line

log = get_logger("vibed.sources")


ITEMS_MAX = 1000  # items of one page read: ten times the largest page we can ask for


def releases_of(source: str, items: Sequence[Any], build: Callable[[Any], Release | None]) -> tuple[Release, ...]:
    """The releases ``build`` makes of the first ``ITEMS_MAX`` ``items``, in order; an item it raises on is
    logged and skipped."""
    if len(items) > ITEMS_MAX:
        log.warning("page_capped", source=source, items=len(items), kept=ITEMS_MAX,
                    reason=f"a page of more than {ITEMS_MAX} items: the rest left unread")
    kept: list[Release] = []
    for item in items[:ITEMS_MAX]:
        try:
            release = build(item)
        except Exception as exc:  # noqa: BLE001 - one hostile item must not cost the others
            found = item.get("id") if isinstance(item, Mapping) else None
            log.error("release_unreadable", source=source,
                      external_id=clean_line(found)[:80] if isinstance(found, str) else None,
                      error=clean_line(f"{type(exc).__name__}: {exc}")[:200], action="skipped, page kept")
            continue
        if release is not None:
            kept.append(release)
    return tuple(kept)
