"""Followed artists, as the poll planner sees them: whom to poll on their own page, and how often they release there.

    followed.py   the followed artists with a JioSaavn id, most-followed and most active first
    history.py    when each one's releases outside the watched languages were first seen (their learned rate)

Who follows whom is the watches' (``vibed/store/watches.py``); polling them is the pipeline's
(``vibed/pipeline/adaptive.py``), on the same token bucket as the languages.
"""
