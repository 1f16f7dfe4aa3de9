"""The read endpoints, each defined once and served two ways: by the edge directly, and by the app.

    READS     the table: route template -> ``Read`` function (context, path parameters, query) -> Answer
    register  puts every row into the Quart app as its route (tests, a role without the edge's shortcut)
    Direct    what the edge asks for a GET or HEAD target: the row's answer, without the ASGI round trip

A read endpoint is a function of the request target only (that is also what lets the edge cache
hold its answers), so the edge can run it with no request object: the path is matched as
Werkzeug's router matches it (percent-decoded; ``<name>`` is one segment), the query parsed as
Werkzeug parses ``request.args``, the app's check of a non-UTF-8 query applied, and every
exception answered by the app's own error handlers' functions (vibed/http/errors.py).  The
answer carries the route template (``x-vibed-route``) as the app's answers do, for the metrics.
A target no row matches goes to the app, which answers it (404, 405, a redirect) as before.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from urllib.parse import parse_qsl, unquote

import attrs
import werkzeug.urls  # noqa: F401  # registers the "werkzeug.url_quote" codec error handler request.args uses
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from vibed.edge.respond import Answer
from vibed.http import artists, feeds, releases, watch_feeds
from vibed.http.answers import as_response
from vibed.http.context import AppContext, context
from vibed.http.errors import ApiError, api_error_answer, crash_answer, unavailable_answer
from vibed.http.protection import query_problem
from vibed.store.postgres import DatabaseUnavailable
from vibed.vocab.edge_keys import ROUTE

Read = Callable[[AppContext, Mapping[str, str], MultiDict[str, str]], Awaitable[Answer]]
Later = Callable[[], Awaitable[Answer]]


def _feed(suffix: str) -> Read:
    async def read(ctx: AppContext, params: Mapping[str, str], args: MultiDict[str, str]) -> Answer:
        return await feeds.feed(ctx, {**params, "suffix": suffix}, args)
    return read


READS: dict[str, Read] = {
    "/api/new-releases": releases.listing,
    "/api/releases/<release_id>": releases.one_release,
    "/api/artists": artists.search_artists,
    "/api/artists/<artist_id>": artists.one_artist,
    f"{feeds.PATH}.atom": _feed("atom"),
    f"{feeds.PATH}.rss": _feed("rss"),
    f"{feeds.PATH}.json": _feed("json"),
    f"{feeds.PATH}.ics": _feed("ics"),
    f"{watch_feeds.PATH}/<watch_id>.<suffix>": watch_feeds.watch_feed,
}


def _view(read: Read) -> Callable[..., Awaitable[Response]]:
    async def view(**params: str) -> Response:
        return as_response(await read(context(), params, request.args))
    return view


def register(app: QuartTrio) -> None:
    for n, (rule, read) in enumerate(READS.items()):
        app.add_url_rule(rule, f"read_{n}", _view(read), methods=["GET"])


def query_args(query: bytes) -> MultiDict[str, str]:
    """``request.args`` of a request with this query string, as Werkzeug makes it."""
    return ImmutableMultiDict(parse_qsl(query.decode(), keep_blank_values=True, errors="werkzeug.url_quote"))


def _pattern(rule: str) -> re.Pattern[str]:
    # Werkzeug's default converter: one path segment, at least one character
    return re.compile(re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", re.escape(rule).replace(r"\<", "<").replace(r"\>", ">"))
                      + r"\Z")


@attrs.define(eq=False)
class Direct:
    """The edge's way into the read endpoints: ``find(target)`` is what to await for its answer,
    or None when the target is not a read endpoint's (the app answers it)."""

    ctx: AppContext
    enabled: bool = True  # off: the app answers every read (tests compare the two)
    _exact: dict[str, tuple[str, Read]] = attrs.field(init=False)
    _patterns: list[tuple[re.Pattern[str], str, Read]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._exact = {rule: (rule, read) for rule, read in READS.items() if "<" not in rule}
        self._patterns = [(_pattern(rule), rule, read) for rule, read in READS.items() if "<" in rule]

    def find(self, target: bytes) -> Later | None:
        if not self.enabled:
            return None
        raw_path, _, query = target.partition(b"?")
        try:
            path = unquote(raw_path.decode("ascii"))
        except UnicodeDecodeError:
            return None
        found = self._exact.get(path)
        params: dict[str, str] = {}
        if found is None:
            for pattern, rule, read in self._patterns:
                if (match := pattern.match(path)) is not None:
                    found, params = (rule, read), match.groupdict()
                    break
            else:
                return None
        return partial(self._answer, found[0], found[1], params, query)

    async def _answer(self, rule: str, read: Read, params: dict[str, str], query: bytes) -> Answer:
        try:
            if (problem := query_problem(query)) is not None:
                raise problem
            answer = await read(self.ctx, params, query_args(query))
        except ApiError as exc:
            answer = api_error_answer(exc)
        except DatabaseUnavailable as exc:
            answer = unavailable_answer(exc)
        except Exception as exc:  # the app's last handler, in the same words
            answer = crash_answer(exc)
        return Answer(answer.status, (*answer.headers, (ROUTE.encode(), rule.encode())), answer.body)
