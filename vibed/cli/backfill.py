"""``vibed backfill --language ml --days 90 [--max-requests N]``: fill the history within a budget share.

On a terminal it shows a progress bar (rich); otherwise one JSON line per page on stdout
(``backfill_page``), then ``backfill_finished``.  SIGINT (Ctrl-C) stops after the page in flight
is stored; the next run resumes there.  Exit codes: 0 done (whatever the reason it ended),
1 upstream or database failure, 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

import trio

from vibed.cli.arguments import count
from vibed.config import Config
from vibed.logs import get_logger
from vibed.pipeline.backfill import Outcome, PageDone, walk

log = get_logger("vibed.backfill")
SHARE_OF_WHAT_IS_LEFT = 10  # default budget: a tenth of the tokens left today


def add_parser(sub: Any, common: Any) -> None:
    parser = sub.add_parser(
        "backfill", help="store older releases of one language, within a share of today's budget",
        description="Walk the source's listing to older pages until --days are covered or the budget share "
                    "is spent; store what it finds without announcing it; Ctrl-C stops, the next run resumes.")
    common(parser)
    parser.add_argument("--language", required=True, help="language code, e.g. ml")
    parser.add_argument("--days", type=int, default=90, help="how far back to go (default 90)")
    parser.add_argument("--max-requests", dest="max_requests", type=count("--max-requests"), default=None,
                        help="most upstream requests of this run (default: a tenth of the tokens left today)")
    parser.add_argument("--source", default="jiosaavn", choices=("jiosaavn",), help="default jiosaavn")
    parser.add_argument("--from-start", dest="from_start", action="store_true",
                        help="forget where earlier runs stopped and walk from page 1")
    parser.add_argument("--data-dir", dest="data_dir", metavar="VIBED_DATA_DIR")


class _Progress:
    """A rich bar on a terminal, JSON lines otherwise."""

    def __init__(self, language: str, days: int) -> None:
        self.bar: Any = None
        if sys.stdout.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("backfill {task.fields[language]}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total} days"),
                                TextColumn("page {task.fields[page]} · {task.fields[requests]} requests · "
                                           "{task.fields[new]} new"), TimeElapsedColumn())
            self.task = self.bar.add_task("backfill", total=days, language=language, page=0, requests=0, new=0)
            self.new = 0

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def page(self, done: PageDone, language: str) -> None:
        if self.bar is None:
            log.info("backfill_page", language=language, page=done.page, count=done.count, kept=done.kept,
                     new=done.new, oldest=None if done.oldest is None else done.oldest.isoformat(),
                     covered_days=done.covered_days, days=done.days, requests=done.requests, share=done.share)
            return
        self.new += done.new
        self.bar.update(self.task, completed=done.covered_days, page=done.page, requests=done.requests,
                        new=self.new)


def backfill(config: Config, args: argparse.Namespace) -> int:
    from vibed.cli.db import _database, _in_loop
    from vibed.config.parsing import parse_languages

    try:
        parse_languages(args.language)
    except ValueError as exc:
        print(f"vibed: --language {args.language!r} {exc}", file=sys.stderr)
        return 2
    if args.days <= 0:
        print("vibed: --days must be a whole number above 0", file=sys.stderr)
        return 2
    with _database(config) as dsn:
        # Ctrl-C asks the walk to stop after the page in flight; the run returns, it is not torn down
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        outcome = _in_loop(lambda: _run(config, args, dsn))
    if outcome is None:
        return 0
    log.info("backfill_finished", language=args.language, reason=outcome.reason, requests=outcome.requests,
             pages=outcome.pages, new=outcome.new, next_page=outcome.state.next_page,
             oldest=None if outcome.state.oldest is None else outcome.state.oldest.isoformat(),
             detail=outcome.detail)
    if outcome.reason == "interrupted":
        print(f"vibed: interrupted; `vibed backfill --language {args.language} --days {args.days}` resumes "
              f"at page {outcome.state.next_page}", file=sys.stderr)
        return 130
    return 1 if outcome.reason == "upstream_error" else 0


async def _run(config: Config, args: argparse.Namespace, dsn: str) -> Outcome | None:
    from vibed.pipeline import backfill_state
    from vibed.sources import JioSaavnSource
    from vibed.sources.http import upstream_client
    from vibed.store import bucket
    from vibed.store.postgres import open_database

    async with open_database(dsn, pool_size=2, attempts=3) as db:
        service = "jiosaavn"
        if args.from_start:
            await backfill_state.forget(db, args.source, args.language)
        share = args.max_requests
        if share is None:
            state = await bucket.peek(db, service)
            share = int((state.tokens if state else 0) // SHARE_OF_WHAT_IS_LEFT)
        if share <= 0:
            log.warning("backfill_no_budget", service=service, detail="a tenth of the tokens left today is "
                        "less than one request: wait for the refill, or pass --max-requests")
            return None
        today = await db.fetchval("SELECT current_date")
        stop = trio.Event()
        outcome: Outcome | None = None
        async with upstream_client(config.upstream_timeout) as client, trio.open_nursery() as nursery:
            source = JioSaavnSource(client, config.jiosaavn_base_url, page_size=config.page_size,
                                    timeout=config.upstream_timeout, max_body=config.upstream_max_body)

            async def watch_sigint() -> None:
                with trio.open_signal_receiver(signal.SIGINT) as signals:
                    async for _ in signals:
                        if stop.is_set():
                            nursery.cancel_scope.cancel()  # a second Ctrl-C: now
                        stop.set()

            nursery.start_soon(watch_sigint)
            with _Progress(args.language, args.days) as progress:
                outcome = await walk(db, source, args.language, days=args.days, share=share, stop=stop,
                                     on_page=lambda done: progress.page(done, args.language), today=today)
            nursery.cancel_scope.cancel()
        if outcome is None:  # a second Ctrl-C cut the page in flight; the stored ones stay
            outcome = Outcome("interrupted", 0, 0, 0, await backfill_state.load(db, args.source, args.language))
        return outcome
