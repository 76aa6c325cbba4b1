"""Each analytics tool's documented rules for receiving a finished run: where to send, how to
authenticate, how much one request may hold, how fast, what it refuses or hides, and what its
answers mean.

Every number here comes from the tool's own documentation (cited beside it; README, *Sending a
run to a tool*).  Where a page states a limit in "KB" or "MB" without saying which, the smaller
reading (powers of ten) is used, so a batch is never over either reading.

- Amplitude, Batch Event Upload (https://amplitude.com/docs/apis/analytics/batch-event-upload,
  and its source, Amplitude-Developer-Docs/amplitude-dev-center
  docs/analytics/apis/batch-event-upload-api.md): ``POST /batch``, ``api_key`` in the body;
  2,000 events and 20 MB per request; 1,000 events per second per user and per device (averaged
  over 30 s); 429 "Too many requests for some devices and users", wait "for example 15 seconds";
  413: split the events in half.  Hosts ``api2.amplitude.com``, EU ``api.eu.amplitude.com``.
  ``ip`` (HTTP V2 page, *Keys for the event argument*): "Use "$remote" to use the IP address on
  the upload request"; without it no address is looked up, so nothing is added.
- Mixpanel, Import Events (https://developer.mixpanel.com/reference/import-events, source
  mixpanel/docs reference/Ingestion API/events/import-events.md): ``POST /import?strict=1``,
  NDJSON, gzip accepted; 2,000 events and 10 MB uncompressed per request, each event under 1 MB
  and under 255 properties; the project token as the Basic user name (or a service account with
  ``project_id``); ``time`` before 1971 or "more than 1 hour in the future" rejected; strings
  truncated to 255 characters; ``$insert_id`` at most 36 bytes of letters, digits and ``-``;
  without ``ip`` "the IP address of the request will be used" (so every user would live in the
  loader's city): ``ip`` set to ``0`` skips geolocation; 429: back off from 2 s doubling to
  60 s with 1 to 5 s of jitter, same for 502/503; 400 not to be retried.  Reserved names:
  https://docs.mixpanel.com/docs/data-structure/property-reference/reserved-properties.
  Profiles: ``/engage`` batch update (2,000 updates per request, 1 MB each, ``$token``;
  ``$ip`` ``"0"`` keeps the profile's location from the request, docs *Geolocation*).  Hosts
  ``api.mixpanel.com``, EU ``api-eu.mixpanel.com``, India ``api-in.mixpanel.com``.
- Segment, HTTP Tracking API (https://segment.com/docs/connections/sources/catalog/libraries/
  server/http-api/, source segmentio/segment-docs): ``POST /v1/batch``, the write key as the
  Basic user name; 500 KB per request, 32 KB per message, at most 2,500 messages; 429 with
  ``Retry-After`` / ``X-RateLimit-Reset``; a request's address is recorded only with
  ``context.direct`` true, so nothing is added.  Hosts ``api.segment.io``, EU
  ``events.eu1.segmentapis.com``.
- PostHog, capture ``/batch/`` (https://posthog.com/docs/api/capture, source PostHog/posthog.com
  contents/docs/api/capture.mdx): ``api_key`` in the body, request body under 20 MB, no limit on
  events; ``historical_migration`` true for imports of events "dated at least 48 hours before the
  time of import" (docs/migrate); keep imports "below a few thousand events per second"; events
  without a name or ``distinct_id`` are dropped with a 200; events over 1 MB discarded, more than
  23 hours in the future warned about (docs/data/ingestion-warnings); GeoIP uses ``$ip`` or else
  "the IP address of the client that sent the event", ``$geoip_disable`` turns it off
  (docs/cdp/geoip-enrichment; the server libraries set it by default).  Hosts
  ``us.i.posthog.com``, EU ``eu.i.posthog.com``, or a self-hosted instance (``--endpoint``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any

import orjson

from ..clock import parse_iso
from ..formats import FORMATS

EVENTS = "events"
PROFILES = "profiles"

HOUR_MS = 3_600_000
MB = 1_000_000


# Ids the tools refuse outright (Amplitude HTTP V2 *Invalid IDs*; Mixpanel import-events
# *distinct_id*).  Lower-case; compared case-insensitively.
def _words(text: str) -> list[str]:
    return text.split()


_BAD_IDS = frozenset(
    _words(
        "anonymous anon nil none null n/a na undefined unknown <nil> 0 -1 true false [] {} "
        '"" 00000000-0000-0000-0000-000000000000 lmy47d'
    )
)
_INSERT_ID = re.compile(r"[A-Za-z0-9-]{1,36}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MIN_MS = 31_536_000_000  # 1971-01-01T00:00:00Z: Mixpanel rejects earlier times


class Refused(Exception):
    """An event the tool would reject or hide; the reader adds the file and line."""


@dataclass(frozen=True)
class Limits:
    """How much one request may hold, and how fast events may go."""

    max_items: int
    max_body_bytes: int  # uncompressed request body
    max_item_bytes: int  # one event (or profile update) as sent
    per_key_per_second: int | None = None  # events per user/device per second (Amplitude)
    per_second: float | None = None  # events per second overall


class Verdict(Enum):
    OK = "ok"
    RETRY = "retry"  # 429, 5xx, a timeout: the same batch again, after a wait
    SPLIT = "split"  # 413: the batch is too big, send it in two halves
    FATAL = "fatal"  # a refusal that retrying cannot fix


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    message: str = ""  # the tool's own words, for the person
    wait_s: float | None = None  # what the tool asked for (Retry-After), if anything
    bad_items: tuple[int, ...] = ()  # positions in the batch the tool named


@dataclass(frozen=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes
    gzip: bool = False


def _basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _text(body: bytes, limit: int = 300) -> str:
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (a number; an HTTP date is read by the client), or Segment's
    ``X-RateLimit-Reset`` (seconds until the limit resets)."""
    for name in ("retry-after", "x-ratelimit-reset"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None


def _common(status: int, headers: Mapping[str, str], body: bytes) -> Answer | None:
    """What every tool's answers share: 2xx, 413, 429, 408 and 5xx; None for the other 4xx."""
    if 200 <= status < 300:
        return Answer(Verdict.OK)
    if status == 413:
        return Answer(Verdict.SPLIT, _text(body))
    if status in (408, 429) or status >= 500:
        return Answer(Verdict.RETRY, _text(body), _retry_after(headers))
    return None


def _string_too_long(value: Any, limit: int) -> str | None:
    """The first string in ``value`` (a JSON value) longer than ``limit`` characters."""
    if isinstance(value, str):
        return value if len(value) > limit else None
    if isinstance(value, dict):
        for item in value.values():
            found = _string_too_long(item, limit)
            if found is not None:
                return found
    if isinstance(value, list):
        for item in value:
            found = _string_too_long(item, limit)
            if found is not None:
                return found
    return None


def _id_ok(value: Any, min_length: int = 1) -> bool:
    return isinstance(value, str) and len(value) >= min_length and value.lower() not in _BAD_IDS


class Tool:
    """One analytics tool.  Subclasses hold the documented numbers and shapes."""

    name = ""
    title = ""
    env = ""  # environment variable that may hold the key
    key_name = "API key"
    hosts: Mapping[str, str] = MappingProxyType({})
    kinds: tuple[str, ...] = (EVENTS,)  # what a run of this format holds to send
    future_ms: int | None = None  # events later than now + this are refused
    backoff_base_s = 1.0
    backoff_cap_s = 60.0
    jitter_s: tuple[float, float] | None = None  # added jitter; None: "equal jitter"

    def limits(self, kind: str) -> Limits:
        raise NotImplementedError

    def check(self, item: dict[str, Any], kind: str, now_ms: int) -> int:
        """Refuse what the tool would reject or hide; return the event's time (ms, 0 if none)."""
        raise NotImplementedError

    def prepare(self, item: dict[str, Any], kind: str) -> tuple[str, ...]:
        """Add what the tool needs (no geolocation from the sender's address); return the
        rate-limit keys of the item."""
        return ()

    def request(
        self, base: str, kind: str, items: Sequence[bytes], key: str, times: Sequence[int],
        now_ms: int,
    ) -> Request:  # fmt: skip
        raise NotImplementedError

    def overhead(self, kind: str, key: str) -> int:
        """Bytes of a request body around its items (the items' commas not included)."""
        return len(self.request("", kind, [], key, [], 0).body)

    def item_overhead(self, kind: str, key: str) -> int:
        """Bytes each item grows by in the request body (besides the comma between items)."""
        return 0

    def judge(self, kind: str, status: int, headers: Mapping[str, str], body: bytes) -> Answer:
        common = _common(status, headers, body)
        if common is not None:
            return common
        return Answer(Verdict.FATAL, _text(body))

    def backoff(self, attempt: int, status: int | None, draw: float) -> float:
        """Seconds to wait before try ``attempt + 1`` (``attempt`` >= 1), ``draw`` uniform in
        [0, 1): exponential from ``backoff_base_s`` up to ``backoff_cap_s``, with jitter."""
        delay = min(self.backoff_cap_s, self.backoff_base_s * float(2 ** (attempt - 1)))
        if self.jitter_s is not None:
            low, high = self.jitter_s
            return delay + low + (high - low) * draw
        return delay / 2 + delay / 2 * draw


class Amplitude(Tool):
    name = "amplitude"
    title = "Amplitude"
    env = "AMPLITUDE_API_KEY"
    hosts = MappingProxyType(
        {"us": "https://api2.amplitude.com", "eu": "https://api.eu.amplitude.com"}
    )
    backoff_base_s = 1.0

    def limits(self, kind: str) -> Limits:
        return Limits(2000, 20 * MB, 20 * MB, per_key_per_second=1000)

    def check(self, item: dict[str, Any], kind: str, now_ms: int) -> int:
        if not isinstance(item.get("event_type"), str) or not item["event_type"]:
            raise Refused("no event_type (Amplitude requires one)")
        user, device = item.get("user_id"), item.get("device_id")
        if user is None and device is None:
            raise Refused("neither user_id nor device_id (Amplitude requires one)")
        for field, value in (("user_id", user), ("device_id", device)):
            if value is not None and not _id_ok(value, 5):
                raise Refused(
                    f"{field} {str(value)[:40]!r} is shorter than 5 characters or an id "
                    f"Amplitude refuses"
                )
        time = item.get("time")
        if not isinstance(time, int) or isinstance(time, bool):
            raise Refused("time is not milliseconds since the epoch (Amplitude answers 400)")
        if item.get("ip") == "$remote":
            raise Refused(
                'ip is "$remote": Amplitude would place every user at the sending machine'
            )
        long = _string_too_long(
            [user, device, item.get("event_properties"), item.get("user_properties")], 1024
        )
        if long is not None:
            raise Refused(
                f"a value is {len(long):,} characters long ({long[:30]!r}…); Amplitude keeps "
                f"1,024 at most"
            )
        return time

    def prepare(self, item: dict[str, Any], kind: str) -> tuple[str, ...]:
        keys = []
        if item.get("user_id") is not None:
            keys.append("u:" + str(item["user_id"]))
        if item.get("device_id") is not None:
            keys.append("d:" + str(item["device_id"]))
        return tuple(keys)

    def request(
        self, base: str, kind: str, items: Sequence[bytes], key: str, times: Sequence[int],
        now_ms: int,
    ) -> Request:  # fmt: skip
        body = b'{"api_key":' + orjson.dumps(key) + b',"events":[' + b",".join(items) + b"]}"
        return Request(base + "/batch", {"Content-Type": "application/json"}, body)

    def judge(self, kind: str, status: int, headers: Mapping[str, str], body: bytes) -> Answer:
        answer = super().judge(kind, status, headers, body)
        data = _json(body)
        if not isinstance(data, dict):
            return answer
        if status == 429:
            # TooManyRequestsForDeviceError: which users were throttled, and how fast they went.
            users = data.get("throttled_users") or {}
            quota = data.get("exceeded_daily_quota_users") or {}
            note = f"Amplitude throttled {len(users)} user(s)" if users else "Amplitude throttled"
            if quota:
                note += f", {len(quota)} over their daily quota"
            wait = answer.wait_s if answer.wait_s is not None else 15.0  # the docs' example
            return Answer(Verdict.RETRY, note, wait)
        if answer.verdict is Verdict.FATAL:
            bad: list[int] = []
            for field in ("events_with_invalid_fields", "events_with_missing_fields"):
                found = data.get(field)
                if isinstance(found, dict):
                    for indexes in found.values():
                        bad += [i for i in indexes if isinstance(i, int)]
            message = str(data.get("error") or _text(body))
            if data.get("missing_field"):
                message += f" (missing {data['missing_field']})"
            return Answer(Verdict.FATAL, message, None, tuple(sorted(set(bad))))
        return answer


# Mixpanel's reserved event properties (docs, *Reserved Properties*): a sheet column with one of
# these names would change how Mixpanel reads the event (``$ignore`` drops it, ``bucket`` hides
# it, ``ip`` moves it, ``$user_id`` merges identities).  The names the format writes itself
# (``time``, ``distinct_id``, ``$insert_id``) and ``ip`` (set to 0 here) are allowed in the event,
# never as a sheet's property; formats.FORMATS["mixpanel"].reserved refuses some at generation.
MIXPANEL_RESERVED = frozenset(
    _words(
        "token ip $bucket bucket $distinct_id distinct_id $device_id $user_id $event_name $time "
        "time $insert_id $identified_id $ignore $anon_id alias $distinct_ids "
        "$distinct_id_before_identity $is_reshuffled $failure_description $failure_reason "
        "$identity_failure_reason mp_original_distinct_id mp_original_event_name $source "
        "$partner_id $warehouse_type $warehouse_import_id $warehouse_import_job_id "
        "$warehouse_import_run_id $warehouse_table $duration_s $event_count $origin_start "
        "$origin_end"
    )
    + list(FORMATS["mixpanel"].reserved)
)
_MIXPANEL_OWN = frozenset(("time", "distinct_id", "$insert_id"))


class Mixpanel(Tool):
    name = "mixpanel"
    title = "Mixpanel"
    env = "MIXPANEL_PROJECT_TOKEN"
    key_name = "project token"
    hosts = MappingProxyType(
        {
            "us": "https://api.mixpanel.com",
            "eu": "https://api-eu.mixpanel.com",
            "in": "https://api-in.mixpanel.com",
        }
    )
    kinds = (PROFILES, EVENTS)
    future_ms = HOUR_MS
    backoff_base_s = 2.0
    jitter_s = (1.0, 5.0)

    def __init__(self) -> None:
        self._checked: set[frozenset[str]] = set()  # property name sets already found clean

    def limits(self, kind: str) -> Limits:
        if kind == PROFILES:
            # User Profile limits: 2,000 updates per request, 1 MB each; no body limit is
            # documented, so /import's 10 MB is kept.
            return Limits(2000, 10 * MB, MB - 1)
        return Limits(2000, 10 * MB, MB - 1, per_second=30_000)

    def check(self, item: dict[str, Any], kind: str, now_ms: int) -> int:
        if kind == PROFILES:
            if not _id_ok(item.get("$distinct_id")):
                raise Refused("a profile without a valid $distinct_id")
            if not isinstance(item.get("$set"), dict):
                raise Refused("a profile without a $set object")
            return 0
        props = item.get("properties")
        if not isinstance(item.get("event"), str) or not item["event"]:
            raise Refused("no event name (Mixpanel requires one)")
        if not isinstance(props, dict):
            raise Refused("no properties object")
        names = frozenset(props)
        if names not in self._checked:
            clash = sorted((names & MIXPANEL_RESERVED) - _MIXPANEL_OWN)
            if clash:
                raise Refused(
                    f"property {clash[0]!r} is a name Mixpanel reserves (it would "
                    f"{'drop' if clash[0] == '$ignore' else 'hide or change'} the event); "
                    f"rename the column and generate again"
                )
            if len(names) >= 254:  # 255 with the ip added here
                raise Refused(f"{len(names)} properties; Mixpanel takes fewer than 255")
            self._checked.add(names)
        time = props.get("time")
        if not isinstance(time, int) or isinstance(time, bool):
            raise Refused("properties.time is not a number of milliseconds")
        ms = time if time > 10**11 else time * 1000  # seconds are accepted too
        if ms < _MIN_MS:
            raise Refused("properties.time is before 1971-01-01; Mixpanel rejects it")
        if not _id_ok(props.get("distinct_id")):
            raise Refused(f"distinct_id {str(props.get('distinct_id'))[:40]!r} is refused")
        insert_id = props.get("$insert_id")
        if not isinstance(insert_id, str) or not _INSERT_ID.fullmatch(insert_id):
            raise Refused("$insert_id is not 1 to 36 letters, digits or '-'")
        long = _string_too_long(props, 255)
        if long is not None:
            raise Refused(
                f"a value is {len(long):,} characters long ({long[:30]!r}…); Mixpanel truncates "
                f"strings to 255"
            )
        return ms

    def prepare(self, item: dict[str, Any], kind: str) -> tuple[str, ...]:
        if kind == PROFILES:
            item["$ip"] = "0"  # keep the profile's location from the sender's address
        else:
            item["properties"]["ip"] = 0  # no geolocation from the request's address
        return ()

    def request(
        self, base: str, kind: str, items: Sequence[bytes], key: str, times: Sequence[int],
        now_ms: int,
    ) -> Request:  # fmt: skip
        if kind == PROFILES:
            token = b'{"$token":' + orjson.dumps(key)
            body = b"[" + b",".join(token + b"," + i[1:] for i in items) + b"]"
            # verbose=1: a JSON answer with the error; ip=0: no location from this request.
            return Request(
                base + "/engage?verbose=1&ip=0", {"Content-Type": "application/json"}, body
            )
        headers = {"Content-Type": "application/x-ndjson", "Authorization": _basic(key)}
        return Request(base + "/import?strict=1", headers, b"\n".join(items), gzip=True)

    def overhead(self, kind: str, key: str) -> int:
        if kind == PROFILES:  # "[" "]" and, per item, the token
            return 2
        return 0

    def item_overhead(self, kind: str, key: str) -> int:
        """The profiles' ``$token`` is added to each update."""
        return len(b'{"$token":' + orjson.dumps(key) + b",") - 1 if kind == PROFILES else 0

    def judge(self, kind: str, status: int, headers: Mapping[str, str], body: bytes) -> Answer:
        answer = super().judge(kind, status, headers, body)
        data = _json(body)
        if kind == PROFILES and answer.verdict is Verdict.OK:
            # /engage answers 200 even when the update failed; verbose=1 says so in the body.
            if isinstance(data, dict) and data.get("status") != 1:
                return Answer(Verdict.FATAL, str(data.get("error") or _text(body)))
            return answer
        if answer.verdict is Verdict.FATAL and isinstance(data, dict):
            failed = data.get("failed_records")
            if isinstance(failed, list) and failed:
                first = failed[0] if isinstance(failed[0], dict) else {}
                message = (
                    f"{data.get('error', 'some events failed validation')}: "
                    f"{first.get('message') or first.get('field') or ''} "
                    f"({len(failed)} event(s); {data.get('num_records_imported', 0)} of the "
                    f"batch were imported)"
                )
                bad = tuple(r["index"] for r in failed if isinstance(r, dict) and "index" in r)
                return Answer(Verdict.FATAL, message, None, bad)
            if data.get("error"):
                return Answer(Verdict.FATAL, str(data["error"]))
        return answer


class Segment(Tool):
    name = "segment"
    title = "Segment"
    env = "SEGMENT_WRITE_KEY"
    key_name = "write key"
    hosts = MappingProxyType(
        {"us": "https://api.segment.io", "eu": "https://events.eu1.segmentapis.com"}
    )
    kinds = (PROFILES, EVENTS)

    def limits(self, kind: str) -> Limits:
        return Limits(2500, 500_000, 32_000)

    def check(self, item: dict[str, Any], kind: str, now_ms: int) -> int:
        kind_of = item.get("type")
        if kind_of not in ("track", "identify", "page", "screen", "group", "alias"):
            raise Refused(f"type {kind_of!r} is not a Segment call")
        if not (_id_ok(item.get("userId")) or _id_ok(item.get("anonymousId"))):
            raise Refused("no userId or anonymousId (Segment answers no_user_anon_id)")
        if kind_of == "track" and not (isinstance(item.get("event"), str) and item["event"]):
            raise Refused("a track call without an event name")
        message_id = item.get("messageId")
        if message_id is not None and (not isinstance(message_id, str) or len(message_id) >= 100):
            raise Refused("messageId is not a string of fewer than 100 characters")
        return 0

    def request(
        self, base: str, kind: str, items: Sequence[bytes], key: str, times: Sequence[int],
        now_ms: int,
    ) -> Request:  # fmt: skip
        headers = {"Content-Type": "application/json", "Authorization": _basic(key)}
        return Request(base + "/v1/batch", headers, b'{"batch":[' + b",".join(items) + b"]}")


class Posthog(Tool):
    name = "posthog"
    title = "PostHog"
    env = "POSTHOG_API_KEY"
    key_name = "project API key"
    hosts = MappingProxyType({"us": "https://us.i.posthog.com", "eu": "https://eu.i.posthog.com"})
    future_ms = 23 * HOUR_MS
    historical_after_ms = 48 * HOUR_MS  # events older than this go as a historical migration

    def limits(self, kind: str) -> Limits:
        # No event count is documented; 1,000 keeps a batch to a short time range of a few users
        # and a retry small.  "Below a few thousand events per second": 2,000.
        return Limits(1000, 20 * MB, MB - 1, per_second=2000)

    def check(self, item: dict[str, Any], kind: str, now_ms: int) -> int:
        if not isinstance(item.get("event"), str) or not item["event"]:
            raise Refused("no event name (PostHog drops it with a 200)")
        props = item.get("properties")
        distinct = item.get("distinct_id")
        if distinct is None and isinstance(props, dict):
            distinct = props.get("distinct_id")
        if not _id_ok(distinct):
            raise Refused("no usable distinct_id (PostHog drops the event with a 200)")
        uuid = item.get("uuid")
        if uuid is not None and not (isinstance(uuid, str) and _UUID.fullmatch(uuid)):
            raise Refused("uuid is not a UUID (PostHog drops the event)")
        stamp = item.get("timestamp")
        if not isinstance(stamp, str):
            raise Refused("no ISO 8601 timestamp (PostHog would use the time of the import)")
        try:
            return parse_iso(stamp)
        except ValueError:
            raise Refused(f"timestamp {stamp[:40]!r} is not ISO 8601") from None

    def prepare(self, item: dict[str, Any], kind: str) -> tuple[str, ...]:
        props = item.setdefault("properties", {})
        if isinstance(props, dict):
            props["$geoip_disable"] = True  # no location from the sender's address
        return ()

    def request(
        self, base: str, kind: str, items: Sequence[bytes], key: str, times: Sequence[int],
        now_ms: int,
    ) -> Request:  # fmt: skip
        historical = bool(times) and max(times) <= now_ms - self.historical_after_ms
        body = (
            b'{"api_key":'
            + orjson.dumps(key)
            + (b',"historical_migration":true' if historical else b',"historical_migration":false')
            + b',"batch":['
            + b",".join(items)
            + b"]}"
        )
        return Request(base + "/batch/", {"Content-Type": "application/json"}, body)

    def overhead(self, kind: str, key: str) -> int:
        return len(self.request("", kind, [], key, [0], 10**15).body) + 1  # "false" is longest


TOOLS: dict[str, type[Tool]] = {t.name: t for t in (Amplitude, Mixpanel, Segment, Posthog)}


def tool_for(name: str) -> Tool:
    return TOOLS[name]()
