"""Continuing a run to a later end time (``--continue``): what the previous run left, and what the
next one adds.

A continued run reads ``config/run.json`` (inputs, seed, format, end time, runs so far) and
``config/user_id_list.json`` (every user's state), walks every user who has not churned on from its
own state to the new end time, adds new users in proportion to the time that passed, and writes its
events into new files beside the old ones.  Because every day of a user comes from its own stream
keyed by (seed, user, day), generating to T1 and continuing to T2 gives the same events and the
same final states as one run to T2 for the same users.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import orjson

from . import output
from .clock import iso, parse_iso
from .errors import InputError, UsageError
from .params import DAY_MS, MODEL_VERSION
from .spec import Product
from .users import UserState, flow_names

if TYPE_CHECKING:  # the runner imports this module
    from .runner import RunConfig

NEW_USERS_SHARE = 0.10  # new users per NEW_USERS_PERIOD_DAYS, as a share of the first run's users
NEW_USERS_PERIOD_DAYS = 30

USERS_FILE = os.path.join("config", "user_id_list.json")


@dataclass(frozen=True)
class Previous:
    """What the run being continued left behind."""

    record: dict[str, Any]  # config/run.json as it was
    entries: list[dict[str, Any]]  # config/user_id_list.json, one entry per user, in index order
    end_ms: int
    runs_done: int  # continuations already made (0 after the first run)

    @property
    def first_end_ms(self) -> int:
        continued = self.record.get("continued") or []
        return parse_iso(continued[0]["from"]) if continued else self.end_ms

    @property
    def first_users(self) -> int:
        return int(self.record["users"])

    @property
    def new_users_so_far(self) -> int:
        return sum(int(c["new_users"]) for c in self.record.get("continued") or [])


def _load_json(folder: str, relative: str) -> Any:
    path = os.path.join(folder, relative)
    try:
        with open(path, "rb") as handle:
            return orjson.loads(handle.read())
    except FileNotFoundError:
        raise InputError(
            "not found: the folder holds no finished run to continue", file=path
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=path) from None
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON ({exc}); it was not written by this tool", file=path
        ) from None


def load_previous(folder: str) -> Previous:
    """Read the finished run in ``folder``, after undoing what an interrupted continue left."""
    if not os.path.isdir(folder):
        raise UsageError(f"nothing to continue: {folder} is not a folder holding a run")
    output.recover(folder)
    record = _load_json(folder, output.RUN_FILE)
    if not isinstance(record, dict):
        raise InputError("not a run record", file=os.path.join(folder, output.RUN_FILE))
    try:
        end_ms = parse_iso(str(record["end"]))
        runs_done = len(record.get("continued") or [])
        int(record["users"]), int(record["seed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"missing or bad field {exc}; it was not written by this tool",
            file=os.path.join(folder, output.RUN_FILE),
        ) from None
    if record.get("model") != MODEL_VERSION:
        raise InputError(
            f"this run was made by an earlier user model (model {record.get('model', 1)}; this "
            f"generator has model {MODEL_VERSION}), whose saved user states mean something else; "
            f"a continued run would mix the two: start a new run instead",
            file=os.path.join(folder, output.RUN_FILE),
        )
    output.drop_later_runs(folder, runs_done)
    entries = _load_json(folder, USERS_FILE)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError("not a list of users", file=os.path.join(folder, USERS_FILE))
    for position, entry in enumerate(entries):
        if entry.get("index") != position:
            raise InputError(
                f"entry {position + 1} has index {entry.get('index')!r}, expected {position}",
                file=os.path.join(folder, USERS_FILE),
            )
    return Previous(record, entries, end_ms, runs_done)


def new_user_count(previous: Previous, end_ms: int) -> int:
    """New users for a continue to ``end_ms``: NEW_USERS_SHARE of the first run's users per
    NEW_USERS_PERIOD_DAYS since the first run's end, less those added already (so daily continues
    add as many as one long one, fractions carried over)."""
    elapsed = max(0, end_ms - previous.first_end_ms)
    target = int(
        previous.first_users * NEW_USERS_SHARE * elapsed / (NEW_USERS_PERIOD_DAYS * DAY_MS)
    )
    return max(0, target - previous.new_users_so_far)


def _differs(what: str, given: object, recorded: object, flag: str) -> UsageError:
    return UsageError(
        f"{flag} {given} differs from the run being continued ({what} {recorded}); a continued run "
        f"keeps it: leave {flag} out"
    )


def continued_config(
    config: RunConfig, previous: Previous, default_max_file_mb: float
) -> RunConfig:
    """``config`` completed from run.json; flags that would change the run are refused.

    Empty paths, ``users`` 0, ``seed`` -1 and None mean "as recorded".  Input paths may be given
    again (the files moved) and ``max_file_mb`` may change; the number of users, the seed, the
    format and gzip may not.  ``days`` is the first run's (it only placed the first users).
    """
    if config.end_ms < previous.end_ms:
        raise UsageError(
            f"the end time {iso(config.end_ms)} is before the end of the run being continued "
            f"({iso(previous.end_ms)}); a continued run only moves forward"
        )
    record = previous.record
    recorded_format = str(record.get("format", "json"))
    recorded_gzip = bool(record.get("gzip", False))
    if config.users and config.users != previous.first_users:
        raise _differs("users", config.users, previous.first_users, "--users")
    if config.seed >= 0 and config.seed != int(record["seed"]):
        raise _differs("seed", config.seed, record["seed"], "--seed")
    if config.format is not None and config.format != recorded_format:
        raise _differs("format", config.format, recorded_format, "--format")
    if config.gzip is not None and config.gzip != recorded_gzip:
        raise _differs("gzip", config.gzip, recorded_gzip, "--gzip")
    max_file_mb = config.max_file_mb
    if max_file_mb is None:
        max_file_mb = float(record.get("max_file_mb", default_max_file_mb))
    return replace(
        config,
        events_path=config.events_path or str(record.get("events", "")),
        flows_path=config.flows_path or str(record.get("flows", "")),
        lookup_path=config.lookup_path or str(record.get("lookup", "")),
        users=previous.first_users,
        seed=int(record["seed"]),
        days=int(record.get("days", 90)),
        format=recorded_format,
        gzip=recorded_gzip,
        max_file_mb=max_file_mb,
    )


def continued_record(
    previous: Previous,
    fresh: dict[str, Any],
    end_ms: int,
    new_users: int,
    events_written: int,
) -> dict[str, Any]:
    """run.json after a continue: the previous record with the new end, the inputs used, totals,
    and one more entry in ``continued``."""
    record = dict(previous.record)
    for key in ("events", "flows", "lookup"):
        record[key] = fresh[key]
    # Recorded only when not the default: a continue back to the default drops the key.
    record.pop("max_file_mb", None)
    if "max_file_mb" in fresh:
        record["max_file_mb"] = fresh["max_file_mb"]
    record["end"] = iso(end_ms)
    record["events_written"] = int(record.get("events_written", 0)) + events_written
    continued = list(record.get("continued") or [])
    continued.append(
        {
            "run": previous.runs_done + 1,
            "from": iso(previous.end_ms),
            "to": iso(end_ms),
            "new_users": new_users,
            "users_total": len(previous.entries) + new_users,
            "events_written": events_written,
        }
    )
    record["continued"] = continued
    return record


def check_users(previous: Previous, product: Product, folder: str) -> None:
    """Every saved user must fit the product as loaded now (same attributes, keys and flows)."""
    names = (
        tuple(a.name for a in product.lookup.attributes),
        product.events.secondary_keys,
        flow_names(product),
    )
    for position, entry in enumerate(previous.entries):
        try:
            UserState.from_json(entry, *names)
        except KeyError as exc:
            raise InputError(
                f"user {position} has no {exc}: the events, flows or lookup file changed since the "
                f"run (a continued run needs the same shard keys, lookup attributes and flows)",
                file=os.path.join(folder, USERS_FILE),
            ) from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"user {position}: {exc}; it was not written by this tool",
                file=os.path.join(folder, USERS_FILE),
            ) from None
