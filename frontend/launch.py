"""The ``event-generator`` command (``[project.scripts]``): the same program as
``python3 event_generator.py``, with SIGTERM turned into Ctrl-C before anything loads.

A command installed by pip imports its module to find the function to call, and
``event_generator`` loads its libraries as it is imported (about 0.3 s): SIGTERM in that time would
end the process with status 143 and not a word.  This module is light: it installs the handler,
then loads the program.
"""

from __future__ import annotations

import signal
import sys


def run() -> None:
    """Run the program as a command; exit with its status (130 and ``Cancelled`` on Ctrl-C or
    SIGTERM, whenever they come)."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        from event_generator import main  # the program: loaded here, after the handler

        status = main()
    except KeyboardInterrupt:
        sys.stderr.write("Cancelled\n")
        status = 130
    sys.exit(status)
