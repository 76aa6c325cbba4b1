"""Reading a run record (``config/run.json``) back, so that ``--replay`` repeats the run exactly.

The record is written by :func:`generator.runner.run_record`; this module is its reader.  A record
that cannot be used is refused with a :class:`UsageError` naming the file and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import orjson

from .clock import parse_iso
from .csvtext import read_file
from .errors import UsageError
from .formats import FORMATS
from .output import RUN_FILE

MAX_RECORD_BYTES = 16 * 1024 * 1024  # a record is a few hundred bytes; each continue adds one line


@dataclass(frozen=True)
class RunRecord:
    """The answers, seed and end time of a finished run."""

    source: str  # the run.json it was read from, for messages
    events_path: str
    flows_path: str
    lookup_path: str
    users: int
    seed: int
    end_ms: int
    days: int
    format: str
    gzip: bool = False  # recorded only when set
    max_file_mb: float | None = None  # recorded only when not the default


def record_path(path: str) -> str:
    """The run.json that ``path`` names: the file itself, or the one inside an output folder."""
    if os.path.isdir(path):
        for candidate in (os.path.join(path, RUN_FILE), os.path.join(path, "run.json")):
            if os.path.isfile(candidate):
                return candidate
        raise UsageError(
            f"no {RUN_FILE} in this folder; give a run's output folder or its config/run.json",
            file=path,
        )
    if not os.path.exists(path):
        raise UsageError("replay file not found", file=path)
    return path


def _field(data: dict[str, Any], key: str, kind: type, source: str) -> Any:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "a whole number" if kind is int else "text"
        raise UsageError(f"field {key!r} is missing or is not {what}", file=source)
    return value


def _megabytes(value: Any, source: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise UsageError("field 'max_file_mb' is not a number above 0", file=source)
    return float(value)


def read_run_record(path: str) -> RunRecord:
    """Read the record of a finished run from its ``config/run.json`` (or its output folder)."""
    source = record_path(path)
    # A pipe or a device (/dev/zero) is refused unopened; a record is read up to a size limit.
    raw = read_file(source, MAX_RECORD_BYTES, "run record", "a run record", UsageError)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UsageError(
            "this is not a run record (not JSON); give the config/run.json of a finished run",
            file=source,
        ) from None
    if not isinstance(data, dict) or "seed" not in data:
        raise UsageError(
            "this is not a run record; give the config/run.json of a finished run", file=source
        )
    if data.get("continued"):
        raise UsageError(
            "this run was continued, and --replay repeats a single run; replay the first run "
            "and continue it the same way, or copy the folder",
            file=source,
        )
    end_text = _field(data, "end", str, source)
    try:
        end_ms = parse_iso(end_text)
    except ValueError:
        raise UsageError(
            f"field 'end' is not an ISO 8601 time: {end_text!r}", file=source
        ) from None
    record = RunRecord(
        source=source,
        events_path=_field(data, "events", str, source),
        flows_path=_field(data, "flows", str, source),
        lookup_path=_field(data, "lookup", str, source),
        users=_field(data, "users", int, source),
        seed=_field(data, "seed", int, source),
        end_ms=end_ms,
        days=_field(data, "days", int, source) if "days" in data else 90,
        format=_field(data, "format", str, source) if "format" in data else "json",
        gzip=data.get("gzip") is True,
        max_file_mb=_megabytes(data.get("max_file_mb"), source),
    )
    for key, value in (("users", record.users), ("days", record.days), ("seed", record.seed + 1)):
        if value < 1:
            raise UsageError(f"field {key!r} is out of range", file=source)
    if record.format not in FORMATS:
        raise UsageError(
            f"field 'format' is {record.format!r}, not one of {', '.join(FORMATS)}", file=source
        )
    return record
