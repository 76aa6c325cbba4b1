"""The resume journal of a send: how far each file has been acknowledged, per destination.

It lives in the output folder as ``sent-to-<tool>.json`` (beside the run's folders, not in
``config/``, which a continued run swaps whole) and is rewritten atomically after every batch the
tool acknowledged: written to ``<name>.partial``, then renamed over the old one, so a send killed
at any moment leaves either the previous journal or the new one.  A send run again skips what is
recorded; only the one batch that was in flight when it stopped can reach the tool twice (and the
tools' dedup ids make even that harmless where they deduplicate).

Each file is recorded with a digest of its content: a run replaced by another (``--force``) has
other files under the same names, and none of them is taken as sent.  The API key is never
written here; the destination is the tool's base URL.

    {"tool": "posthog",
     "destinations": {"https://us.i.posthog.com": {
         "events/part-00000-000.jsonl": {"digest": "…", "items": 18004, "sent": 4000}}}}
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import OutputError, UsageError
from ..layout import TEMP_SUFFIX, journal_name


@dataclass(frozen=True)
class Mark:
    digest: str
    items: int
    sent: int


def journal_path(folder: str, tool: str) -> str:
    return os.path.join(folder, journal_name(tool))


class Journal:
    """What has been acknowledged, for one tool, read from and written to the output folder."""

    def __init__(self, path: str, tool: str, destination: str) -> None:
        self.path = path
        self.tool = tool
        self.destination = destination
        self._data: dict[str, Any] = {"tool": tool, "destinations": {}}
        if os.path.lexists(path):
            self._data = self._read()
        self._files: dict[str, Any] = self._data["destinations"].setdefault(destination, {})

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as handle:
                data = orjson.loads(handle.read())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise UsageError(
                f"the send journal cannot be read ({exc}); move it away to send the whole run "
                f"again (events already sent would then be sent twice)",
                file=self.path,
            ) from None
        if (
            not isinstance(data, dict)
            or data.get("tool") != self.tool
            or not isinstance(data.get("destinations"), dict)
        ):
            raise UsageError(
                "this is not a send journal of this tool; move it away", file=self.path
            )
        return data

    def sent(self, rel: str, digest: str) -> int:
        """Items of ``rel`` already acknowledged (0 unless the file is the one recorded)."""
        mark = self._files.get(rel)
        if not isinstance(mark, dict) or mark.get("digest") != digest:
            return 0
        sent = mark.get("sent")
        return sent if isinstance(sent, int) and sent > 0 else 0

    def forget(self) -> None:
        """``--resend``: everything goes again to this destination."""
        self._files.clear()
        self._write()

    def record(self, rel: str, digest: str, items: int, sent: int) -> None:
        self._files[rel] = {"digest": digest, "items": items, "sent": sent}
        self._write()

    def _write(self) -> None:
        partial = self.path + TEMP_SUFFIX
        data = orjson.dumps(self._data, option=orjson.OPT_INDENT_2) + b"\n"
        try:
            if os.path.lexists(partial):
                os.unlink(partial)
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(partial, self.path)
        except OSError as exc:
            raise OutputError(
                f"could not write the send journal {self.path} ({exc.strerror or exc}); the send "
                f"was stopped: the last batch may be sent again when it is run again"
            ) from None
