"""Local time (SPEC section 2, second edition): which clock each user lives on.

If the lookup table has a ``timezone`` attribute (IANA names such as ``Europe/Paris``) or a
``country`` attribute (ISO 3166 codes such as ``FR``, or English country names), a user's daily
rhythm (session hours, weekdays and weekends, the day a streak counts) follows the local clock of
its value; otherwise everyone lives on UTC.  Timestamps are always written in UTC.

Every zone comes from the ``tzdata`` package (not the machine's own zone files), so a run gives
the same bytes on every machine that has the same ``tzdata``.  A country's zone is the first one
the tz database's ``zone.tab`` lists for it (for most countries the most populous region:
``US`` is ``America/New_York``, ``MX`` ``America/Mexico_City``; ``zone.tab`` lists Canada,
Australia, Brazil and Russia from east to west, so their users get ``America/St_Johns``,
``Australia/Lord_Howe``, ``America/Noronha`` and ``Europe/Kaliningrad``: a ``timezone`` attribute
is the precise way).  English names come from ``pycountry`` (ISO 3166) and from tzdata's own
``iso3166.tab``.  A value that names no zone or country leaves its users on UTC, with a warning.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from .clock import DAY_MS
from .csvtext import normalise_header, shown
from .spec import LookupSpec

UTC_KEY = "UTC"
ZONE_HEADERS = ("timezone", "tz")  # after normalise_header: "Time Zone", "time_zone", "TZ"
COUNTRY_HEADERS = ("country", "countrycode")
_EPOCH = date(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_SHOWN_UNKNOWN = 5  # values quoted in the warning
_SHOWN_COUNTRIES = 12  # countries shown with their zone by --check


def _tzdata_text(*parts: str) -> str:
    return resources.files("tzdata").joinpath(*parts).read_text(encoding="utf-8")


@functools.cache
def zone_keys() -> dict[str, str]:
    """Every zone name tzdata knows, by its case-folded spelling."""
    return {key.casefold(): key for key in _tzdata_text("zones").split()}


@functools.cache
def country_zones() -> dict[str, str]:
    """ISO 3166 alpha-2 code -> the first zone ``zone.tab`` lists for that country."""
    zones: dict[str, str] = {}
    for line in _tzdata_text("zoneinfo", "zone.tab").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        zones.setdefault(fields[0], fields[2])
    return zones


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


@functools.cache
def country_names() -> dict[str, str]:
    """Normalised English names and codes (alpha-2, alpha-3) -> alpha-2 code, for every country
    that has a zone.  Names from pycountry (name, official and common names) and from tzdata's
    ``iso3166.tab`` (``Britain (UK)`` also as ``Britain`` and ``UK``, ``Korea (South)`` as
    ``South Korea``); a derived name that would fit two countries is left out."""
    import pycountry  # loaded only for a lookup table with a country attribute

    names: dict[str, str] = {}
    derived: dict[str, set[str]] = {}
    zones = country_zones()
    for country in pycountry.countries:
        code = country.alpha_2
        if code not in zones:
            continue
        names[_name_key(code)] = code
        names[_name_key(country.alpha_3)] = code
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                names.setdefault(_name_key(value), code)
    paired: list[tuple[str, str, str]] = []  # (code, base, extra) of names like "Britain (UK)"
    for line in _tzdata_text("zoneinfo", "iso3166.tab").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        code, name = line.split("\t", 1)
        if code not in zones:
            continue
        names.setdefault(_name_key(name), code)
        if name.endswith(")") and " (" in name:
            base, extra = name[:-1].split(" (", 1)
            paired.append((code, base, extra))
    bases = [base for _, base, _ in paired]
    for code, base, extra in paired:
        aliases = [f"{extra} {base}"]  # "Korea (South)": "South Korea"
        if bases.count(base) == 1:  # "Britain (UK)": "Britain", and "UK" (an abbreviation)
            aliases.append(base)
            if extra.isupper():
                aliases.append(extra)
        for alias in aliases:
            derived.setdefault(_name_key(alias), set()).add(code)
    for key, codes in derived.items():
        if len(codes) == 1:
            names.setdefault(key, next(iter(codes)))
    return names


def zone_for_timezone(value: str) -> str | None:
    """The tz database's spelling of a zone name (any case), or None."""
    return zone_keys().get(value.strip().casefold())


def zone_for_country(value: str) -> str | None:
    """The zone of a country given by ISO 3166 code or English name, or None."""
    code = country_names().get(_name_key(value))
    return None if code is None else country_zones()[code]


@dataclass(frozen=True)
class LocalTimeSource:
    """Where users' local time comes from: a lookup attribute, each of its values a zone."""

    attribute: int | None  # position among the lookup attributes; None: everyone on UTC
    name: str  # the attribute's header ("" for UTC)
    how: str  # "timezone", "country" or "" (UTC)
    zones: tuple[str, ...]  # per value of the attribute, in rank order: its zone (UTC if unknown)
    unknown: tuple[str, ...]  # values that name no zone or country
    values: tuple[str, ...] = ()  # the attribute's values, in rank order (beside ``zones``)

    def describe(self) -> str:
        """A country's zone is the first zone.tab lists (Australia's is Lord Howe), so each
        country is shown with its zone: a user can see it before the data does."""
        if self.attribute is None:
            return "UTC for every user (no 'timezone' or 'country' lookup attribute)"
        distinct = len(set(self.zones))
        text = (
            f"from lookup attribute {shown(self.name)} ({self.how}): {distinct} "
            f"zone{'s' if distinct != 1 else ''}"
        )
        if self.how == "country" and self.values:
            pairs = [f"{v} {z}" for v, z in zip(self.values, self.zones)][:_SHOWN_COUNTRIES]
            more = len(self.values) - _SHOWN_COUNTRIES
            text += " (" + ", ".join(pairs) + (f", and {more} more" if more > 0 else "") + ")"
        return text


def local_time_source(lookup: LookupSpec) -> LocalTimeSource:
    """A ``timezone`` attribute wins over a ``country`` attribute; with neither, UTC."""
    for how, headers, resolve in (
        ("timezone", ZONE_HEADERS, zone_for_timezone),
        ("country", COUNTRY_HEADERS, zone_for_country),
    ):
        for position, attribute in enumerate(lookup.attributes):
            if normalise_header(attribute.name) not in headers:
                continue
            zones: list[str] = []
            unknown: list[str] = []
            for value in attribute.values:
                zone = resolve(value)
                if zone is None:
                    unknown.append(value)
                zones.append(zone or UTC_KEY)
            return LocalTimeSource(
                position, attribute.name, how, tuple(zones), tuple(unknown), attribute.values
            )
    return LocalTimeSource(None, "", "", (), ())


def local_time_warnings(lookup: LookupSpec) -> list[str]:
    """One warning naming the values of the local-time attribute that name no zone."""
    source = local_time_source(lookup)
    if not source.unknown:
        return []
    attribute = lookup.attributes[source.attribute or 0]
    what = "IANA zone names" if source.how == "timezone" else "ISO 3166 codes or English names"
    quoted = ", ".join(shown(v) for v in source.unknown[:_SHOWN_UNKNOWN])
    more = len(source.unknown) - _SHOWN_UNKNOWN
    return [
        f"{lookup.source}, column {attribute.column}: {len(source.unknown)} value"
        f"{'s' if len(source.unknown) != 1 else ''} of {shown(attribute.name)} "
        f"{'are' if len(source.unknown) != 1 else 'is'} not {what} ({quoted}"
        f"{f' … {more} more' if more > 0 else ''}); those users live on UTC"
    ]


class ZoneClock:
    """Local days of one zone as epoch-millisecond spans.

    A local day is numbered like a UTC epoch day (0 is 1970-01-01 in that zone), so
    ``(day + 3) % 7`` is its weekday (Monday 0).  Days where the clocks change last 23 or 25 hours.
    """

    __slots__ = ("_starts", "key", "zone")

    def __init__(self, key: str) -> None:
        self.key = key
        self.zone = None if key == UTC_KEY else _load_zone(key)
        self._starts: dict[int, int] = {}

    def day_start(self, day: int) -> int:
        """Epoch ms of local midnight starting ``day`` (the moment the day begins, if a clock
        change skips midnight)."""
        if self.zone is None:
            return day * DAY_MS
        start = self._starts.get(day)
        if start is None:
            local = datetime.combine(_EPOCH + timedelta(days=day), datetime.min.time())
            start = int(local.replace(tzinfo=self.zone).timestamp()) * 1000
            self._starts[day] = start
        return start

    def day_starts(self, days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """:meth:`day_start` for an array of days (each distinct day looked up once)."""
        if self.zone is None:
            result: npt.NDArray[np.int64] = days * DAY_MS
            return result
        distinct, where = np.unique(days, return_inverse=True)
        starts = np.array([self.day_start(int(day)) for day in distinct], dtype=np.int64)
        found: npt.NDArray[np.int64] = starts[where.reshape(days.shape)]
        return found

    def day_of(self, ms: int) -> int:
        """The local day that holds epoch ms ``ms``."""
        if self.zone is None:
            return ms // DAY_MS
        moment = datetime.fromtimestamp(ms // 1000, UTC).astimezone(self.zone)
        return moment.date().toordinal() - _EPOCH_ORDINAL


def _load_zone(key: str) -> ZoneInfo:
    """The zone from the tzdata package itself (not the machine's zone files)."""
    path = resources.files("tzdata").joinpath("zoneinfo", *key.split("/"))
    with path.open("rb") as handle:
        return ZoneInfo.from_file(handle, key=key)


@functools.cache
def clock(key: str) -> ZoneClock:
    """The process's clock for zone ``key`` (its day starts are cached)."""
    return ZoneClock(key)
