"""The followed artists to poll on their own JioSaavn page, most-followed and most active first.

    artists = await poll_list(db, limit=100, window_s=28 * 86400)
    [a.scope for a in artists]        # ["artist:459320", ...]: the scopes the planner adds beside languages

The watches say who is followed and by how many of them (``vibed.store.watches.followed_artists``);
this module adds what the artist index knows: the artist's JioSaavn id (an artist known only on
Spotify has no page to poll) and how many releases it had in the learning window.
"""

from __future__ import annotations

import attrs

from vibed.store import watches
from vibed.store.postgres import Database
from vibed.vocab.messages import artist_scope

FOLLOWED_READ = 10_000  # followed artists read per plan, before the index's ids and activity rank them

_RESOLVE = """
SELECT a.id, a.name,
       (SELECT min(btrim(i.external_id)) FROM artist_ids i
         WHERE i.artist_id = a.id AND i.source = 'jiosaavn' AND btrim(i.external_id) <> '') AS upstream,
       (SELECT count(*) FROM release_artists ra JOIN releases r ON r.id = ra.release_id
         WHERE ra.artist_id = a.id AND r.first_seen > now() - make_interval(secs => $2)) AS recent
  FROM artists a WHERE a.id = ANY ($1::bigint[])
"""


@attrs.frozen
class FollowedArtist:
    artist_id: int  # in the artist index
    upstream_id: str  # JioSaavn's artist id
    name: str
    followers: int  # watches following it
    recent: int  # its releases first seen in the window

    @property
    def scope(self) -> str:
        return artist_scope(self.upstream_id)


async def poll_list(db: Database, *, limit: int, window_s: float) -> list[FollowedArtist]:
    """Followed artists with a JioSaavn id: most followers first, then most releases, at most ``limit``."""
    counts = {int(k): int(v) for k, v in await watches.followed_artists(db, FOLLOWED_READ) if v > 0}
    if not counts or limit <= 0:
        return []
    rows = await db.fetch(_RESOLVE, list(counts), float(window_s))
    found = [FollowedArtist(r["id"], r["upstream"], r["name"], counts[r["id"]], int(r["recent"]))
             for r in rows if r["upstream"]]
    found.sort(key=lambda a: (-a.followers, -a.recent, a.artist_id))
    return found[:limit]
