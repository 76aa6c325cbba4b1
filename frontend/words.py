"""How counts and shares are said: ``1 event``, ``2 events``, ``<0.1%``.

One home for the words that follow a number, so that no message says ``1 events`` or
``1 retries``, and no share of something that happened rounds to ``0.0%``.
"""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 event``, ``2,000 events``, ``0 retries``: the count with thousands separators and the
    noun in the number it takes (``many``, else the usual plural of ``noun``)."""
    return f"{count:,} {noun if count == 1 else (many or plural_of(noun))}"


def plural_of(noun: str) -> str:
    """The plural of an English ``noun``: ``retry`` -> ``retries``, ``batch`` -> ``batches``,
    ``event`` -> ``events``."""
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def percent(part: int, whole: int) -> str:
    """``part`` as a share of ``whole``, one decimal: a share that is not zero never shows as
    ``0.0%`` (``<0.1%``), and one that is not all never shows as ``100.0%`` (``>99.9%``)."""
    if not whole:
        return "–"
    share = 100 * part / whole
    if 0 < share < 0.05:
        return "<0.1%"
    if 99.95 <= share < 100:
        return ">99.9%"
    return f"{share:.1f}%"
