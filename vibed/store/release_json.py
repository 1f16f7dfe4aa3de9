"""A release's public JSON written by PostgreSQL: the bytes ``json_bytes(row_json(row))`` would be.

    SELECT ..., ROW_JSON AS json FROM releases ...     -- bytea, UTF-8: ready to join into a body

A listing page read as rows cost its decoding (seventeen columns, the artists' jsonb through
``json.loads``) and then a dict per row to encode again; read as this one column, each release
arrives as the finished bytes.  ``row_json`` (vibed/store/releases.py) stays the definition: the
expression below writes the same fields in the same order, strings escaped as ``to_json`` escapes
them (as orjson does), and tests/test_release_json.py holds the two equal over hostile rows
(quotes, backslashes, control characters, scripts, emoji, missing values).
"""

from __future__ import annotations


def _text(column: str) -> str:
    return f"coalesce(to_json({column})::text, 'null')"


# [a.get("name", "") for a in artists]: a missing name is "", a JSON null stays null
_NAMES = ("coalesce((SELECT '[' || string_agg(coalesce((e.value -> 'name')::text, '\"\"'), ',' ORDER BY e.n) || ']'"
          " FROM jsonb_array_elements(releases.artists) WITH ORDINALITY AS e(value, n)), '[]')")


def row_json_sql(artist_ids: str) -> str:
    """The expression, given the SQL of the release's artist ids (a bigint[] column or subquery)."""
    parts = [
        ("id", "releases.id::text"),
        ("source", _text("releases.source")),
        ("external_id", _text("releases.external_id")),
        ("kind", _text("releases.kind")),
        ("title", _text("releases.title")),
        ("artists", _NAMES),
        ("artist_ids", f"'[' || array_to_string({artist_ids}, ',') || ']'"),
        ("album", _text("releases.album")),
        ("language", _text("releases.language")),
        ("release_date", "coalesce('\"' || to_char(releases.release_date, 'YYYY-MM-DD') || '\"', 'null')"),
        ("year", "coalesce(releases.year::text, 'null')"),
        ("image", _text("releases.image")),
        ("url", _text("releases.url")),
        ("explicit", "coalesce(releases.explicit::text, 'null')"),
        # utc_iso: milliseconds, truncated, and a Z
        ("first_seen", "'\"' || to_char(releases.first_seen AT TIME ZONE 'UTC', "
                       "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || '\"'"),
    ]
    fields = " || ',' || ".join(f"'\"{name}\":' || {value}" for name, value in parts)
    return f"convert_to('{{' || {fields} || '}}', 'UTF8')"
