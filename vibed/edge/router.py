"""Where each request goes: a stream, bytes the edge holds, or the app.

``Router.route`` is called for every request on every connection.  The guard speaks first
(client address and key, CORS preflight, per-IP limit), then an unknown method is 501; a stream
request (SSE ``GET``, WebSocket upgrade) becomes a hub client, counted under the client key, and
the connection's task ends (``HEAD`` on a stream URL gets the head a ``GET`` would, and no
stream); a cacheable ``GET``/``HEAD`` is answered from the edge cache while it is fresh; a read
endpoint's ``GET``/``HEAD`` (``direct``: vibed/http/reads.py) runs its function, without the ASGI
round trip; anything else runs the app.  Preconditions (304, 412; vibed/edge/conditional.py) are decided here, for
cached and uncached answers alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import attrs
import h11
import trio

from vibed.delivery.client import SocketClient
from vibed.delivery.filters import BadStreamRequest, StreamRequest, parse_stream_request, resolved
from vibed.delivery.frames import STREAM_HEADERS
from vibed.delivery.hub import Hub
from vibed.delivery.replay import Replayer
from vibed.delivery.sse import (
    RETRY_AFTER,
    StreamSettings,
    admit_nowait,
    come_back_later,
    open_sse_nowait,
    replay_sse,
)
from vibed.edge.asgi import AppBridge
from vibed.edge.cache import MARK, EdgeCache, Fill
from vibed.edge.conditional import preconditions, shared_cacheable, unsafe_refusal
from vibed.edge.connection import DEFAULT_TIMEOUTS, Later, Timeouts, read_body, refuse
from vibed.edge.encoding import Variants, negotiated
from vibed.edge.exchange import RequestHead
from vibed.edge.framing import method_refusal
from vibed.edge.guard import Guard, Verdict
from vibed.edge.respond import (
    Answer,
    HeadCache,
    Header,
    as_json_error,
    error_answer,
)
from vibed.logs import debug_on, get_logger
from vibed.vocab import edge_keys
from vibed.vocab.watch_ref import UnknownWatch
from vibed.vocab.wire import send_all
from vibed.websocket.upgrade import handshake_refusal, serve_websocket, upgrade_bytes

STREAM_PATHS = frozenset({"/api/new-releases/stream", "/api/new-releases/events"})
WS_PATH = "/api/new-releases/ws"
ROUTE = edge_keys.ROUTE.encode()  # internal: the app's route template, for per-route metrics
BODY_LIMIT = 64 * 1024
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
log = get_logger("vibed.edge")  # DEBUG=edge: one line per answer written
stream_log = get_logger("vibed.delivery")  # DEBUG=stream: each stream's start (and a WebSocket's end)

# (kind, "fresh" | "reused"), (route, status): what the edge reports to the metrics
StreamHook = Callable[[str, bool], None]
AnswerHook = Callable[[str, int], None]
# a read endpoint's answer to a target, to await; None: not a read endpoint's target (the app's)
DirectReads = Callable[[bytes], Callable[[], Awaitable[Answer]] | None]


def _quiet(kind: str, reused: bool) -> None:
    pass


def _quiet_answer(route: str, status: int) -> None:
    pass


@attrs.define(eq=False)
class Router:
    hub: Hub
    replayer: Replayer
    settings: StreamSettings
    app: AppBridge
    cache: EdgeCache
    guard: Guard
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    on_stream: StreamHook = _quiet
    on_answer: AnswerHook = _quiet_answer
    direct: DirectReads | None = None
    idle: set[trio.CancelScope] = attrs.field(factory=set)
    closing: bool = False  # shutting down: every answer closes its connection
    stream_head: HeadCache = attrs.field(factory=lambda: HeadCache(Answer(200, STREAM_HEADERS)))

    def close_idle_nowait(self) -> None:
        """Shutdown: no new request is read; connections waiting for one end now."""
        self.closing = True
        for scope in list(self.idle):
            scope.cancel()

    async def route(self, head: RequestHead) -> bool:
        """Answer ``head``: True when a stream owns the socket now, False when the connection goes on."""
        done = self.route_nowait(head)
        return done if isinstance(done, bool) else await done()

    def route_nowait(self, head: RequestHead) -> bool | Later:
        """``route`` as far as it goes without waiting: True or False as ``route``, or what is left
        to await.  A live SSE stream and an answer the edge holds need no wait, which is what lets
        a crowd be admitted without a task per connection (``arrivals.py``)."""
        verdict = self.guard.check_nowait(head.method, head.path, head.peer[0], head.headers)
        if verdict is None:  # the shared limiter is to be asked
            return partial(self._checked, head)
        return self._dispatch_nowait(head, verdict)

    async def _checked(self, head: RequestHead) -> bool:
        done = self._dispatch_nowait(head, await self.guard.check(head.method, head.path, head.peer[0],
                                                                  head.headers))
        return done if isinstance(done, bool) else await done()

    def _dispatch_nowait(self, head: RequestHead, verdict: Verdict) -> bool | Later:
        refusal = verdict.refusal or method_refusal(head.method)
        if refusal is not None:
            if head.method == "GET" and head.path in STREAM_PATHS and refusal.status in (429, 503):
                refusal = _come_back_later(refusal)  # an EventSource would give up for good on a 429
            return self._write_nowait(head, refusal, verdict.headers, "edge")
        if head.path in STREAM_PATHS or (head.path == WS_PATH and head.wants_websocket):
            return self._stream_nowait(head, verdict)
        if head.method in ("GET", "HEAD") and not head.has_body:
            held = self.cache.lookup_nowait(head.target)
            if held is not None:
                return self._write_nowait(head, held.answer, verdict.headers, held.route, held.variants)
            fill = self.cache.claim_nowait(head.target)
            if fill is not None:  # the held answer only aged: this request refills it, the crowd behind is served
                return partial(self._refill, head, verdict, fill)
        return partial(self._ordinary, head, verdict)

    # -- streams -----------------------------------------------------------------------------
    def _stream_request(self, head: RequestHead) -> StreamRequest | Answer:
        """The stream request parsed, or the refusal to write (a method or a filter it cannot have)."""
        allowed = ("GET",) if head.path == WS_PATH else ("GET", "HEAD")
        if head.method not in allowed:
            return error_answer(405, "method_not_allowed", "a stream is opened with GET",
                                [("Allow", ", ".join(allowed))])
        try:
            return parse_stream_request(head.query, head.headers)
        except BadStreamRequest as exc:
            return error_answer(400, exc.error, exc.detail)

    def _admit_stream(self, head: RequestHead, key: str, request: StreamRequest) -> StreamRequest | Answer:
        """The stream request, admitted under the client ``key`` (a slot is taken); or the answer
        to write instead: a refusal, or to ``HEAD`` the head a ``GET`` would get."""
        if head.method == "HEAD":  # GET's head, and no stream after it: no slot is taken
            return Answer(200, STREAM_HEADERS)
        if head.path == WS_PATH:  # before a slot is taken: a handshake that cannot succeed holds none
            bad = handshake_refusal(head.request)
            if bad is not None:
                return error_answer(bad.status, bad.error, bad.detail, bad.headers)
        refusal = admit_nowait(self.hub, key)
        # a process that takes no streams (the fetch role) is no load to wait out: 503 says so at once
        if refusal is not None and (head.path == WS_PATH or not self.hub.admission.max_streams):
            return error_answer(503, "too_many_streams", refusal, [("Retry-After", RETRY_AFTER)])
        if refusal is not None:  # never a non-200 to an EventSource for load: it would give up for good
            return Answer(200, (*STREAM_HEADERS, (b"connection", b"close")), come_back_later(refusal))
        return request

    def _stream_nowait(self, head: RequestHead, verdict: Verdict) -> bool | Later:
        """Parse the request: a watch it names is read first (``_watched``), else it is opened now."""
        request = self._stream_request(head)
        if isinstance(request, Answer):
            return self._write_nowait(head, request, verdict.headers, head.path)
        if request.watch is not None:
            return partial(self._watched, head, verdict, request)
        return self._open_stream_nowait(head, verdict, request)

    async def _watched(self, head: RequestHead, verdict: Verdict, request: StreamRequest) -> bool:
        """A ``?watch=`` stream: its filter is read now; the hub holds the stream under the watch, so the
        watch's later edits reach it (``vibed/delivery/watch_changes.py``)."""
        answer: Answer | None = None
        try:
            request = await resolved(request, self.settings.resolve_watch)
        except UnknownWatch as exc:
            answer = error_answer(404, "not_found", exc.detail)
        except OSError:  # DatabaseUnavailable: an EventSource gives up for good on a non-200
            answer = (error_answer(503, "unavailable", "the watch could not be read now; try again",
                                   [("Retry-After", RETRY_AFTER)]) if head.path == WS_PATH else
                      Answer(200, (*STREAM_HEADERS, (b"connection", b"close")),
                             come_back_later("the watch could not be read now")))
        done = (self._write_nowait(head, answer, verdict.headers, head.path) if answer is not None
                else self._open_stream_nowait(head, verdict, request))
        return done if isinstance(done, bool) else await done()

    def _open_stream_nowait(self, head: RequestHead, verdict: Verdict, parsed: StreamRequest) -> bool | Later:
        """Admit the stream and hand the socket over (True, or what is left of it), or write the
        answer instead (False, or what is left of it)."""
        request = self._admit_stream(head, verdict.key, parsed)
        if isinstance(request, Answer):
            return self._write_nowait(head, request, verdict.headers, head.path)
        websocket = head.path == WS_PATH
        self.on_stream("websocket" if websocket else "sse", head.reused)
        self.on_answer(head.path, 101 if websocket else 200)
        if debug_on("vibed.delivery"):
            stream_log.debug("stream_opened", kind="websocket" if websocket else "sse", ip=verdict.ip,
                             query=head.query[:200])
        if websocket:
            return partial(self._websocket, head, verdict, request)
        # the stream's head carries what every answer to this request carries (CORS, RateLimit-*)
        response_head, chunked = self.stream_head.render((head.http_version, head.headers.get("connection")),
                                                         lambda: head.conn, verdict.headers)
        client = open_sse_nowait(self.hub, self.replayer, self.settings, head.sock, response_head, chunked,
                                 request, verdict.key)
        if client is None:
            return True
        return partial(self._replay, client, response_head, request)

    async def _replay(self, client: SocketClient, response_head: bytes, request: StreamRequest) -> bool:
        await replay_sse(self.hub, self.replayer, client, response_head, request)
        return True

    async def _websocket(self, head: RequestHead, verdict: Verdict, request: StreamRequest) -> bool:
        # trio-websocket reads the handshake itself: give it the request again, then what followed it
        await serve_websocket(self.hub, self.replayer, self.settings, head.sock,
                              upgrade_bytes(head.request) + head.conn.trailing_data[0], request, verdict.key,
                              partial(self.guard.recount, verdict.ip), handshake_timeout=self.timeouts.head)
        stream_log.debug("stream_closed", kind="websocket", ip=verdict.ip)  # an SSE client's: the hub's
        return True

    # -- everything else ---------------------------------------------------------------------
    async def _refill(self, head: RequestHead, verdict: Verdict, fill: Fill) -> bool:
        """``_ordinary`` with the cache's refill already begun (``claim_nowait``): ended on every path."""
        try:
            return await self._ordinary(head, verdict, fill)
        finally:
            self.cache.abandon_fill(fill)

    async def _ordinary(self, head: RequestHead, verdict: Verdict, claimed: Fill | None = None) -> bool:
        readonly = head.method in ("GET", "HEAD") and not head.has_body
        key = head.target  # one key for every spelling of a target (target.py)
        if readonly and claimed is None:
            entry = await self.cache.lookup(key)
            if entry is not None:
                await self._write(head, entry.answer, verdict.headers, entry.route, entry.variants)
                return False
        body = await read_body(head, BODY_LIMIT, self.timeouts)
        if isinstance(body, Answer):
            await self._write(head, body, verdict.headers, "edge", close=True)
            return False
        if head.method not in _SAFE and (refusal := unsafe_refusal(head.headers)) is not None:
            await self._write(head, refusal, verdict.headers, "edge")
            return False
        # the app runs a HEAD as its GET, body and all; the body is left off the wire (render), so the
        # HEAD carries the GET's Content-Length, Content-Encoding and ETag, and fills the cache as a GET does
        fill = claimed or (self.cache.begin_fill(key) if readonly else None)
        answer: Answer | None = None
        variants: Variants | None = None
        read = self.direct(key) if readonly and self.direct is not None else None
        try:
            with trio.move_on_after(self.timeouts.app):
                if read is not None:
                    answer = await read()
                else:
                    answer = await self.app.answer(_as_get(head.request) if readonly else head.request, body,
                                                   head.peer, head.sock.getsockname()[:2], verdict.ip)
        finally:
            if fill is not None:
                held = _held(answer)
                variants = self.cache.end_fill(fill, held or answer, held is not None, _route(answer))
        if answer is None:
            answer = error_answer(503, "timeout", f"no answer within {self.timeouts.app:g} s; try again")
        await self._write(head, as_json_error(_clean(answer)), verdict.headers, _route(answer) or "unmatched",
                          variants)
        return False

    async def _write(self, head: RequestHead, answer: Answer, extra: list[Header], route: str,
                     variants: Variants | None = None, *, close: bool = False) -> None:
        rest = self._write_nowait(head, answer, extra, route, variants, close=close)
        if not isinstance(rest, bool):
            await rest()

    def _write_nowait(self, head: RequestHead, answer: Answer, extra: list[Header], route: str,
                      variants: Variants | None = None, *, close: bool = False) -> bool | Later:
        """Write ``answer`` now when the socket takes all of it (False), else what is left to await:
        in the content coding the client asked for (``variants``: the cache entry's, made once each),
        then 304/412 as its preconditions say, judged on that coding's ETag."""
        answer = negotiated(answer, head.headers.get("accept-encoding"), variants)
        if head.method in ("GET", "HEAD"):
            answer = preconditions(answer, head.headers)
        if extra and shared_cacheable(answer):  # what one client's limit says must not be stored for others
            extra = [h for h in extra if not h[0].startswith(b"ratelimit-")]
        self.on_answer(route, answer.status)
        if debug_on("vibed.edge"):
            log.debug("answer_sent", method=head.method, path=head.path[:200], status=answer.status,
                      route=route, ip=head.peer[0])
        if close or self.closing or answer.status in (408, 413, 431) or answer.header(b"connection") == b"close":
            answer = Answer(answer.status, tuple(h for h in answer.headers if h[0] != b"connection"), answer.body)
            return partial(self._refuse, head, _with(answer, extra))
        data = head.rendered(answer, extra)
        try:
            sent = head.sock.send(data)
        except BlockingIOError:
            sent = 0
        return False if sent == len(data) else partial(self._send_rest, head, data[sent:])

    async def _refuse(self, head: RequestHead, answer: Answer) -> bool:
        await refuse(head.conn, head.sock, answer, self.timeouts.write)
        return False

    async def _send_rest(self, head: RequestHead, data: bytes) -> bool:
        await send_all(head.sock, data, trio.current_time() + self.timeouts.write)
        return False


def _as_get(request: h11.Request) -> h11.Request:
    """A ``HEAD`` as the ``GET`` it asks the head of (h11 parsed it already: not validated again)."""
    if request.method == b"GET":
        return request
    return h11.Request(method=b"GET", target=request.target, headers=request.headers,
                       http_version=request.http_version, _parsed=True)


def _come_back_later(refusal: Answer) -> Answer:
    """A limiter's refusal of an SSE stream, as the 200 that tells an EventSource when to come back."""
    wait = (refusal.header(b"retry-after") or b"").decode("latin-1")
    return Answer(200, (*STREAM_HEADERS, (b"connection", b"close")),
                  come_back_later("too many requests from your address; come back later",
                                  int(wait) if wait.isdigit() else 0))


def _with(answer: Answer, extra: list[Header]) -> Answer:
    return Answer(answer.status, answer.headers + tuple(extra), answer.body)


def _route(answer: Answer | None) -> str:
    value = None if answer is None else answer.header(ROUTE)
    return "" if value is None else value.decode("latin-1")


def _clean(answer: Answer) -> Answer:
    """The app's answer without the edge's internal headers."""
    return Answer(answer.status, tuple(h for h in answer.headers if not h[0].startswith(b"x-vibed-")), answer.body)


def _held(answer: Answer | None) -> Answer | None:
    """What the cache may keep of the app's answer to a GET."""
    if answer is None or answer.status != 200 or answer.header(MARK) is None or answer.header(b"vary") is not None:
        return None
    return _clean(answer)
