"""The upstream catalogues vibed watches, one module each, behind the ``Source`` protocol."""

from vibed.sources.base import Source
from vibed.sources.jiosaavn import JioSaavnSource
from vibed.sources.spotify import SpotifySource
from vibed.vocab.languages import LANGUAGES, code_for_name, jiosaavn_name

__all__ = ["LANGUAGES", "JioSaavnSource", "Source", "SpotifySource", "code_for_name", "jiosaavn_name"]
