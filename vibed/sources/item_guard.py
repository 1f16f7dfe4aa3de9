"""One item at a time: an item its builder chokes on costs that item, never the page.

The item builders (``jiosaavn_items.release``, ``spotify_items.release``) turn any value into a
``Release`` or None.  Should one still raise on a shape nobody foresaw, the page around it would
be lost, and with it every good item beside it, round after round for as long as upstream keeps
the item.  ``releases_of`` builds each item on its own: one that raises is skipped with a
``release_unreadable`` line (the source, the item's id if it has one, the error), the rest are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from vibed.logs import get_logger
from vibed.vocab.messages import Release
from vibed.vocab.text import clean_line

log = get_logger("vibed.sources")


def releases_of(source: str, items: Iterable[Any], build: Callable[[Any], Release | None]) -> tuple[Release, ...]:
    """The releases ``build`` makes of ``items``, in order; an item it raises on is logged and skipped."""
    kept: list[Release] = []
    for item in items:
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
