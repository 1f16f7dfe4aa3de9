"""The fetch pipeline: when to fetch, fetching, storing — one room for the whole path of a release in.

    Control ─Poke─► scheduler (cron rounds)  ─FetchJob─► fetcher ×N ─WriteRequest─► writer ─StoredEvent─► delivery
                    adaptive (planned polls) ◄─JobDone──┘     │ FetchRun: the paging rules, no I/O
    control.py     pokes (SIGUSR1, POST /fetch, a serve process's rounds), coalesced into one
    scheduler.py   cron rounds; a round's RoundProgress adds up the fetchers' JobDone results
    adaptive.py    planned polls per scope, from planner.py (the day's plan) and learning.py (rates);
                   both pure, tested over a simulated day; history.py reads what they learn from
    fetcher.py     one run per (source, scope): performs the steps fetch_run.py's FetchRun asks for
    fetch_run.py   paging, boundary, resume, cap and suspect-empty rules, sans-I/O (table-tested)
    fetch_state.py per-scope claims, resume marks, failures and back-off in PostgreSQL
    writer.py      batches pages into one transaction (store/releases.py), publishes the new events
    health.py      per-scope health in memory (successes, failures, empty streaks)
    backfill.py    ``vibed backfill``: the walk back through a catalogue, resumable (backfill_state.py)

Actors (control, scheduler, adaptive, fetcher, writer) are one module, one class, one
``run(inbox, outbox, *, task_status)`` each; the rest is their policy and state.
"""
