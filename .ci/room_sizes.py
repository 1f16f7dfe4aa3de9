"""No room of vibed holds more than 12 % of its lines (issue 23): a package is a folder directly under
vibed/ (its subfolders included), a top-level module is a room of its own; lines are the Python source's.

    python3 .ci/room_sizes.py          prints the rooms, largest first; exit 1 when one is over the limit
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

LIMIT = 0.12
PACKAGE = Path(__file__).resolve().parent.parent / "vibed"


def room_lines(package: Path = PACKAGE) -> Counter[str]:
    lines: Counter[str] = Counter()
    for path in package.rglob("*.py"):
        rel = path.relative_to(package)
        room = rel.parts[0] if len(rel.parts) > 1 else rel.name
        lines[room] += len(path.read_text(encoding="utf-8").splitlines())
    return lines


def main() -> int:
    lines = room_lines()
    total = sum(lines.values())
    over = [(room, n) for room, n in lines.items() if n > LIMIT * total]
    for room, n in lines.most_common():
        print(f"{room:<16} {n:>6}  {n / total:6.1%}")
    print(f"{'total':<16} {total:>6}")
    for room, n in over:
        print(f"room_sizes: vibed/{room} holds {n / total:.1%} of the lines, over {LIMIT:.0%}: "
              "move a feature out of it into a room of its own", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
