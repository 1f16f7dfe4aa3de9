"""``python -m vibed.cli``: the ``vibed`` command."""

import sys

from vibed.cli import main

sys.exit(main())
