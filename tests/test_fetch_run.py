"""The paging rules of one fetch run, as tables: no database, no upstream, no clock (``FetchRun``).

Each row is an upstream as a list of pages and the stored releases; the driver answers every step
the run asks for, as the fetcher does with real I/O, and the row pins the steps taken and how the
run ended.  A page is ``"N3 K2"`` (3 new releases, 2 known ones), ``"empty"`` (upstream sent
nothing), ``"fail"`` (a failure); ``+last`` marks upstream's last page.
"""

from __future__ import annotations

import itertools

import attrs
import pytest

from vibed.pipeline.fetch_run import (
    AskSuspect,
    Done,
    FetchPage,
    FetchRun,
    LookUp,
    ProtocolError,
    TakeToken,
    Write,
)
from vibed.vocab.messages import Failure, FailureKind, Page, Release, WriteResult

SRC, SCOPE = "jiosaavn", "ml"
_ids = itertools.count()


def _release(n: int) -> Release:
    return Release(source=SRC, external_id=f"r{n}", kind="album", title=f"Release {n}")


@attrs.frozen
class Upstream:
    pages: tuple[str, ...]
    tokens: int = 99  # tokens in the bucket
    suspect_after_empty: int | None = None  # health: empty page 1 runs in a row, when it calls it suspect
    write_error: str | None = None


def drive(run: FetchRun, up: Upstream) -> tuple[list[str], Done, Page | None]:
    """Answer each step as the fetcher would; the steps as short words, how it ended, what was written."""
    stored: set[tuple[str, str]] = set()
    steps: list[str] = []
    written: Page | None = None
    tokens = up.tokens
    while True:
        match run.next_step():
            case TakeToken(page=n):
                steps.append(f"token{n}")
                tokens -= 1
                run.token(tokens >= 0)
            case FetchPage(page=n):
                steps.append(f"fetch{n}")
                spec = up.pages[n - 1]
                if spec == "fail":
                    run.fetched(Failure(SRC, SCOPE, n, FailureKind.UPSTREAM_ERROR, "HTTP 503"))
                    continue
                words = spec.split()
                new = int(next((w[1:] for w in words if w.startswith("N")), 0))
                known = int(next((w[1:] for w in words if w.startswith("K")), 0))
                releases = tuple(_release(next(_ids)) for _ in range(new + known))
                stored.update((r.source, r.external_id) for r in releases[new:])
                run.fetched(Page(SRC, SCOPE, n, releases, last_page="+last" in words, received=len(releases)))
            case LookUp(keys=keys):
                run.looked_up({key for key in keys if key in stored})
            case AskSuspect():
                steps.append("ask")
                run.suspected(up.suspect_after_empty)
            case Write(page=whole):
                steps.append(f"write{whole.page}:{len(whole.releases)}")
                written = whole
                run.written(WriteResult(0, 0, up.write_error) if up.write_error
                            else WriteResult(len(whole.releases), len(whole.releases)))
            case Done() as done:
                return steps, done, written


def summary(done: Done) -> tuple[object, ...]:
    kind = None if done.failure is None else (done.kind or done.failure.kind.value)
    return done.complete, done.resume, kind, done.requests


# (id, cap, resume_pages, upstream) -> (steps, (complete, next resume, failure kind, requests))
TABLE = [
    # boundary: a page with nothing new, or with BOUNDARY_KNOWN (3) known releases, completes the run
    ("all-new-then-all-known", 5, 0, Upstream(("N5", "K5", "N5")),
     ["token1", "fetch1", "token2", "fetch2", "write2:10"], (True, 0, None, 2)),
    ("three-known-is-the-boundary", 5, 0, Upstream(("N2 K3", "N5")),
     ["token1", "fetch1", "write1:5"], (True, 0, None, 1)),
    ("two-known-is-a-stray-not-the-boundary", 5, 0, Upstream(("N3 K2", "K4")),
     ["token1", "fetch1", "token2", "fetch2", "write2:9"], (True, 0, None, 2)),
    ("nothing-new-on-page-1", 5, 0, Upstream(("K4",)),
     ["token1", "fetch1", "write1:4"], (True, 0, None, 1)),
    ("upstream's-last-page", 5, 0, Upstream(("N5", "N2 +last")),
     ["token1", "fetch1", "token2", "fetch2", "write2:7"], (True, 0, None, 2)),
    # cap: paging stops at the cap, and the next run must page one further
    ("cap-reached-with-new-releases", 2, 0, Upstream(("N5", "N5", "N5")),
     ["token1", "fetch1", "token2", "fetch2", "write2:10"], (False, 3, None, 2)),
    # resume: a cut-short run's mark outruns the boundary, and may go past the cap
    ("resume-outruns-the-boundary-and-the-cap", 2, 3, Upstream(("K5", "K5", "K5", "N5")),
     ["token1", "fetch1", "token2", "fetch2", "token3", "fetch3", "write3:15"], (True, 0, None, 3)),
    ("no-token-after-new-releases-resumes-next-page", 5, 0, Upstream(("N5", "N5"), tokens=1),
     ["token1", "fetch1", "token2", "write2:5"], (False, 2, None, 1)),
    ("no-token-at-all-keeps-the-earlier-mark", 5, 4, Upstream(("N5",), tokens=0),
     ["token1"], (False, 4, None, 0)),
    ("failure-after-new-releases", 5, 0, Upstream(("N5", "fail")),
     ["token1", "fetch1", "token2", "fetch2", "write2:5"], (False, 2, "upstream_error", 2)),
    ("failure-on-page-1-keeps-the-earlier-mark", 5, 3, Upstream(("fail",)),
     ["token1", "fetch1"], (False, 3, "upstream_error", 1)),
    # suspect-empty: an empty page 1 is a BLOCKED failure once health calls it suspect
    ("empty-page-1-suspect", 5, 0, Upstream(("empty",), suspect_after_empty=3),
     ["token1", "fetch1", "ask"], (False, 0, "blocked", 1)),
    ("empty-page-1-not-yet-suspect", 5, 0, Upstream(("empty",)),
     ["token1", "fetch1", "ask"], (True, 0, None, 1)),
    ("empty-page-2-is-not-asked-about", 5, 0, Upstream(("N5", "empty")),
     ["token1", "fetch1", "token2", "fetch2", "write2:5"], (True, 0, None, 2)),
    # write: a failed write is a "store" failure and leaves the pessimistic mark (resume None)
    ("write-fails", 5, 0, Upstream(("N5", "K5"), write_error="connection lost"),
     ["token1", "fetch1", "token2", "fetch2", "write2:10"], (False, None, "store", 2)),
]


@pytest.mark.parametrize(("cap", "resume", "upstream", "steps", "outcome"), [row[1:] for row in TABLE],
                         ids=[row[0] for row in TABLE])
def test_the_paging_rules(cap: int, resume: int, upstream: Upstream, steps: list[str],
                          outcome: tuple[object, ...]) -> None:
    run = FetchRun(SRC, SCOPE, cap, resume)
    taken, done, _ = drive(run, upstream)
    assert (taken, summary(done)) == (steps, outcome)


def test_the_pessimistic_mark_is_the_furthest_page_the_run_may_reach() -> None:
    assert FetchRun(SRC, SCOPE, 3, 0).pessimistic == 3
    assert FetchRun(SRC, SCOPE, 3, 5).pessimistic == 5


def test_the_pages_are_written_once_oldest_page_last_and_say_whether_the_run_completed() -> None:
    _, done, written = drive(FetchRun(SRC, SCOPE, 5, 0), Upstream(("N2", "N2", "K3")))
    assert written is not None and written.last_page and done.complete
    assert [r.external_id for r in written.releases] == sorted((r.external_id for r in written.releases),
                                                                key=lambda x: int(x[1:]))
    assert done.first_seen == done.events == 7  # the writer's answer, not the run's own count


def test_a_suspect_empty_page_says_how_many_runs_came_back_empty() -> None:
    _, done, _ = drive(FetchRun(SRC, SCOPE, 5, 0), Upstream(("empty",), suspect_after_empty=4))
    assert done.failure is not None and done.failure.kind is FailureKind.BLOCKED
    assert done.failure.detail == "page 1 came back empty 4 runs in a row (blocked silently?)"


def test_an_answer_to_a_step_not_asked_is_refused() -> None:
    run = FetchRun(SRC, SCOPE, 5, 0)
    with pytest.raises(ProtocolError):
        run.fetched(Page(SRC, SCOPE, 1, (), last_page=True))
    run.token(True)
    with pytest.raises(ProtocolError):
        run.written(WriteResult(0, 0))


def test_an_artist_s_page_never_leaves_a_resume_mark() -> None:
    """A followed artist's page (no catch-up): past the cap is its back catalogue, not a new release."""
    up = Upstream(("N10", "N10", "N10", "N4+last"))
    run = FetchRun(SRC, "artist:459320", 2, resume_pages=0, catch_up=False)
    assert run.pessimistic == 0  # a crash mid-run leaves nothing to catch up either
    steps, done, _ = drive(run, up)
    assert steps[-1] == "write2:20" and "fetch3" not in steps
    assert done.resume == 0 and not done.complete
    languages = FetchRun(SRC, SCOPE, 2)  # a language's run, cut short the same way, pages on next time
    assert drive(languages, up)[1].resume == 3
