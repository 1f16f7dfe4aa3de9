"""The CLI's argument parsing: every mistake is one line on stderr and exit code 2.

argparse prints a usage block and then the error; an operator's terminal (or a unit's journal)
gets one line instead, naming the command, the argument and the fix, and ``--help`` shows the
usage.  Numbers are checked at parse time, so a bad one never reaches the database.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors (and its subcommands', which inherit the class) are one line."""

    def error(self, message: str) -> NoReturn:
        print(f"vibed: {message} (see `{self.prog} --help`)", file=sys.stderr)
        raise SystemExit(2)


def amount(what: str) -> Callable[[str], float]:
    """A finite number, 0 or more (tokens, sizes, rates)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"must be a finite number, 0 or more, not {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in its own messages
    return parse


def count(what: str) -> Callable[[str], int]:
    """A whole number, 1 or more."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be 1 or more, not {text!r}")
        return value

    parse.__name__ = what
    return parse
