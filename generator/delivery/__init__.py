"""Delivering a finished run to an analytics tool (``--send``): the tools' documented rules
(:mod:`.tools`), the run's files as items (:mod:`.runfiles`), the wire with retries and rate
limits (:mod:`.http`), the resume journal (:mod:`.journal`) and the send itself (:mod:`.send`).

Like the rest of the core it never prints and never reads the clock: progress goes to a callback
of frozen :class:`SendProgress`, and the clock, the sleep and the jitter are parameters.
"""

from .send import SendConfig, SendProgress, SendResult, check_send, destination, send_run
from .tools import TOOLS, tool_for

__all__ = [
    "TOOLS",
    "SendConfig",
    "SendProgress",
    "SendResult",
    "check_send",
    "destination",
    "send_run",
    "tool_for",
]
