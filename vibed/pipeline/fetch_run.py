"""One fetch run's paging rules, without I/O: it says the next step and takes what came back.

As with ``h11.Connection`` (or the planner), nothing here awaits.  The fetcher asks ``next_step()``,
performs it — take a token, fetch page n, look its releases up, ask the scope's health, write — and
hands the answer back; ``Done`` says how the run ended and what the next run must know.

    TakeToken(n) ─granted─► FetchPage(n) ─Page─► LookUp(page, keys) ─stored─┐
         │ refused              │ Failure                                    ▼
         ▼                      ▼                 (page 1 empty) AskSuspect ─► the boundary rule
       stop paging ◄────────────┴────────────────────────────────────────────┘   next page, or stop
    stop paging: Write(all pages as one) ─WriteResult─► Done    (nothing collected: Done at once)

The rules:
- paging: pages 1..max(cap, resume); catching up after a cut-short run may go past the cap;
  no token → stop (upstream is never called without one);
- boundary: a page with nothing new, or with ``BOUNDARY_KNOWN`` known releases, reaches what is
  stored: the run is complete (what follows is older still) — but not before the page an earlier,
  cut-short run asked to resume to; ``last_page`` completes the run too;
- suspect-empty: page 1 empty while the scope's health calls it suspect is a BLOCKED failure;
- resume: a run cut short after collecting releases must page one further next time (reached + 1);
  with nothing collected the earlier mark stands; a complete run needs none (0);
- no catch-up (a followed artist's page): no resume mark, pessimistic or real; past the page cap is the
  artist's back catalogue, never a new release, so no later run pages towards it;
- write: the run's pages are written once, together, so event ids run oldest → newest; a failed
  write is a "store" failure and leaves the pessimistic mark (``pessimistic``) in place.
"""

from __future__ import annotations

import attrs

from vibed.vocab.messages import Failure, FailureKind, Page, Release, ReleaseKey, WriteResult

BOUNDARY_KNOWN = 3  # known items on a page that mark the boundary of what is stored: stop paging


@attrs.frozen
class TakeToken:
    page: int


@attrs.frozen
class FetchPage:
    page: int


@attrs.frozen
class LookUp:
    """Which of ``keys`` (the page's releases not seen earlier in this run) the database has."""

    page: Page
    keys: tuple[ReleaseKey, ...]


@attrs.frozen
class AskSuspect:
    """Page 1 came back empty: does the scope's health call that suspect (blocked silently)?"""


@attrs.frozen
class Write:
    page: Page  # every page of the run, as one


@attrs.frozen
class Done:
    resume: int | None  # the next run pages at least this far (0: no need); None: keep the pessimistic mark
    failure: Failure | None
    kind: str | None  # "store": the write failed (else the failure's own kind)
    complete: bool  # reached the boundary or the last page: a success to record
    requests: int  # pages asked of upstream
    first_seen: int  # releases the database did not have (the writer's count)
    events: int


Step = TakeToken | FetchPage | LookUp | AskSuspect | Write | Done


class ProtocolError(RuntimeError):
    """An answer that is not the one the current step asked for."""


@attrs.define(eq=False)
class FetchRun:
    source: str
    scope: str
    max_pages: int
    resume_pages: int = 0  # what an earlier, cut-short run left: page at least this far
    catch_up: bool = True  # False: a cut-short run leaves no resume mark (an artist's page)
    number: int = attrs.field(init=False, default=1)  # the page in hand
    _step: Step = attrs.field(init=False)
    _page: Page | None = attrs.field(init=False, default=None)
    _unseen: tuple[ReleaseKey, ...] = attrs.field(init=False, default=())
    _new: int = attrs.field(init=False, default=0)
    _seen: set[ReleaseKey] = attrs.field(init=False, factory=set)
    _collected: list[Release] = attrs.field(init=False, factory=list)
    _reached: int = attrs.field(init=False, default=0)
    _failure: Failure | None = attrs.field(init=False, default=None)
    _complete: bool = attrs.field(init=False, default=False)
    _requests: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self._step = TakeToken(1) if self.last >= 1 else self._stop()

    @property
    def last(self) -> int:
        """The last page this run may fetch."""
        return max(self.max_pages, self.resume_pages)

    @property
    def requests(self) -> int:
        """Pages asked of upstream so far."""
        return self._requests

    @property
    def pessimistic(self) -> int:
        """The resume mark set before paging, so a run cut short by a crash is caught up."""
        return self.last if self.catch_up else 0

    def next_step(self) -> Step:
        return self._step

    def token(self, granted: bool) -> None:
        self._expect(TakeToken)
        if not granted:
            self._step = self._stop()
            return
        self._requests += 1
        self._step = FetchPage(self.number)

    def fetched(self, result: Page | Failure) -> None:
        self._expect(FetchPage)
        if isinstance(result, Failure):
            self._failure = result
            self._step = self._stop()
            return
        keys = [(r.source, r.external_id) for r in result.releases]
        self._page = result
        self._unseen = tuple(key for key in dict.fromkeys(keys) if key not in self._seen)
        self._step = LookUp(result, self._unseen)

    def looked_up(self, stored: set[ReleaseKey]) -> int:
        """Takes the keys the database has; returns how many of the page's releases are new."""
        page = self._page
        if not isinstance(self._step, LookUp) or page is None:
            raise ProtocolError(f"looked_up() while the step is {self._step!r}")
        self._new = sum(1 for key in self._unseen if key not in stored)
        self._seen.update(self._unseen)
        self._collected.extend(page.releases)
        self._reached = self.number
        if self.number == 1 and page.received == 0:
            self._step = AskSuspect()
        else:
            self._step = self._boundary(page)
        return self._new

    def suspected(self, empty_runs: int | None) -> None:
        """``empty_runs``: how many runs in a row page 1 came back empty, when health calls it suspect."""
        self._expect(AskSuspect)
        if empty_runs is not None:
            self._failure = Failure(self.source, self.scope, 1, FailureKind.BLOCKED,
                                    f"page 1 came back empty {empty_runs} runs in a row (blocked silently?)")
            self._step = self._stop()
            return
        assert self._page is not None
        self._step = self._boundary(self._page)

    def written(self, result: WriteResult) -> None:
        self._expect(Write)
        if result.error is not None:
            failure = Failure(self.source, self.scope, self.number, FailureKind.UPSTREAM_ERROR,
                              f"not stored: {result.error}")
            self._step = Done(None, failure, "store", False, self._requests, 0, 0)
            return
        self._step = self._done(result.first_seen, result.events)

    def _boundary(self, page: Page) -> Step:
        # the page reaches what is known: what follows is older still (shuffling stays within a page).
        # A stray known item or two may be an old release moved up, so it takes a few.
        known = len(self._unseen) - self._new
        boundary = self._new == 0 or known >= BOUNDARY_KNOWN
        # past a page an earlier, cut-short run stored, the boundary no longer means "done"
        if page.last_page or (boundary and self.number >= self.resume_pages):
            self._complete = True
            return self._stop()
        if self.number >= self.last:
            return self._stop()
        self.number += 1
        return TakeToken(self.number)

    def _stop(self) -> Step:
        if not self._collected:
            return self._done(0, 0)
        return Write(Page(self.source, self.scope, self.number, tuple(self._collected), last_page=self._complete))

    def _done(self, first_seen: int, events: int) -> Done:
        # cut short after collecting new releases: older ones may sit on the next page, which a later
        # "nothing new" page 1 would never reach; the next run must page at least that far
        resume = 0 if self._complete or not self.catch_up else (
            self._reached + 1 if self._collected else self.resume_pages)
        return Done(resume, self._failure, None, self._complete, self._requests, first_seen, events)

    def _expect(self, kind: type) -> None:
        if not isinstance(self._step, kind):
            raise ProtocolError(f"an answer to {kind.__name__} while the step is {self._step!r}")
