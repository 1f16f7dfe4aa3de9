"""The upstream catalogues vibed watches, one module each, behind the ``Source`` protocol.

    jiosaavn.py (+ _items)  spotify.py (+ _items)   one client per upstream, items normalised
    http.py                 the httpx boundary: one request, its status and body, as values
    capped_body.py · bounds.py · firewall.py        body caps, sane values, the blocked-network answer

The language codes are vocabulary (vibed/vocab/languages.py); the backfill walk is a pipeline job.
"""

from vibed.sources.jiosaavn import JioSaavnSource
from vibed.sources.spotify import SpotifySource
from vibed.vocab.languages import LANGUAGES, code_for_name, jiosaavn_name
from vibed.vocab.source import Source

__all__ = ["LANGUAGES", "JioSaavnSource", "Source", "SpotifySource", "code_for_name", "jiosaavn_name"]
