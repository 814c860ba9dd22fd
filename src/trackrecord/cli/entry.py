"""The console-script entry point, kept import-light: ``kill-switch status|activate``
answer on a stdlib-only path (an emergency stop must be fast); everything else loads the
full command line."""

from __future__ import annotations

import sys


def main() -> None:
    from trackrecord.errors import INTERRUPTED, INTERRUPTED_EXIT

    try:
        from trackrecord.cli.kill_switch_fast import run_fast

        code = run_fast(sys.argv[1:])
        if code is None:
            from trackrecord.cli.app import run

            code = run(sys.argv[1:])
    except KeyboardInterrupt:  # a Ctrl-C while the command line loads: the same line as one while it runs
        sys.stderr.write(f"{INTERRUPTED}\n")
        code = INTERRUPTED_EXIT
    sys.exit(code)
