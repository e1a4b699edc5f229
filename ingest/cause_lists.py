"""Cause lists of Appendix C, segmented by arithmetic.

A cause list is a run of bullets, "Service Delayed – 71 • Poor communication - 27", whose counts
add up to its service area's stated instances. Labels may themselves hold digits and dashes
("Covid-19 restrictions – 7", "Stage 2 - review – 4", "Section 20 notice – 3"), and bullets are
sometimes missing, so where one label ends and its count begins is not a matter of finding the
first dash: each number in the list could end a cause.

A *reading* says which numbers are counts. Within a bullet the last number is always a count (a
bullet is one cause); any earlier number may be one too (a missing bullet) or part of a label.
The typography says which (`_looks_like_count`): a number after a spaced dash is a count (under
bullets only when a label follows it: a lost bullet), one after a plain space belongs to its
label, and one glued by a hyphen is a count only in a list without bullets and before a label.

The records are always the *typographic reading*: the one with the fewest departures from the
typography (none, unless a number the typography calls a count has no label before it), then the
one with fewer causes, then the one whose counts come first. The arithmetic checks it and never
replaces it:

- it adds up to the target (or there is no target): it is taken;
- it does not: it is still taken, so the service area's control total fails, and the readings
  that depart from the typography but add up are returned as `alternatives` (best first, by the
  same order) for the report to show beside it. Reading a number against the typography invents
  or drops a cause and moves digits between a label and a count, so only a person can confirm
  it (by correcting the extract, or by waiving the failed total to publish the list as typed).

No stated number is ever changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from ingest.text import DASHES, squash

_D: Final = re.escape(DASHES)
_BULLET: Final = re.compile(r"[\u2022\u25aa\u25cf\u00b7\u25e6]")
# A count: digits (thousands grouped by commas, or not at all) standing alone, i.e. not glued to
# a letter or digit before it, and followed by white space or the end of the bullet (a stray
# full stop, comma or semicolon after it is punctuation).
_NUMBER: Final = re.compile(r"(?<![\w.,/])(\d{1,3}(?:,\d{3})+|\d+)(?=[;,.]?(?:\s|$))")
_LETTER: Final = re.compile(r"[^\W\d_]")
# A word that starts with digits but is a word: "24-hour", "2nd", "3rd-party".
_LABEL_START: Final = re.compile(r"\d+(?:[-\u2010\u2011]|st\b|nd\b|rd\b|th\b)")
_WORD: Final = re.compile(r"\w")
# More counts than this in one bullet (a list with no bullets at all) are not searched
# exhaustively; the typography decides and a warning says so.
MAX_NUMBERS_PER_BULLET: Final = 40


class Separator(IntEnum):
    """What stands between a label and a number."""

    SPACED_DASH = 0  # "Other – 2", "Other- 2", "Other –2": usually a count
    HYPHEN = 1  # "Covid-19", "Tier-1" in a label, but also "Information-1" as a count
    SPACE = 2  # "Stage 2", "Section 20" in a label, but also "Other 2" as a count


@dataclass(frozen=True, slots=True)
class Candidate:
    """A number in the list that may be a count: where its label would end and its value."""

    label_end: int  # index into the text where the separator (or white space) begins
    end: int  # index just after the number
    value: int
    last_in_bullet: bool  # always a count: a bullet is at least one cause
    looks_like_count: bool  # what the typography says, for a number inside a bullet


@dataclass(frozen=True, slots=True)
class ListCause:
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Reading:
    causes: tuple[ListCause, ...]
    departures: int  # how many numbers are read against the typography

    @property
    def total(self) -> int:
        return sum(c.count for c in self.causes)

    def describe(self, limit: int = 12) -> str:
        shown = "; ".join(f"{c.label!r} {c.count}" for c in self.causes[:limit])
        more = len(self.causes) - limit
        return f"{shown}; ... ({more} more)" if more > 0 else shown


@dataclass(frozen=True, slots=True)
class Segmentation:
    """The reading taken for one cause list, and what the parser must say about it."""

    reading: Reading
    leftovers: tuple[str, ...]  # text in the list that holds no count (not counted)
    notes: tuple[str, ...]  # why the reading was taken, when that was a decision
    alternatives: tuple[Reading, ...] = ()
    """Readings that add up to the target where the one taken does not, each departing from the
    typography (best first): a finding, never taken."""


@dataclass(frozen=True, slots=True)
class _Bullet:
    text: str
    candidates: tuple[Candidate, ...]


def segment(text: str, target: int | None) -> Segmentation:
    """Segment a cause list's plain text; `target` is what its counts must add up to."""
    bullets, leftovers = _bullets(text)
    if not bullets:
        return Segmentation(Reading((), 0), leftovers, ())
    if any(len(b.candidates) > MAX_NUMBERS_PER_BULLET for b in bullets):
        reading = _typographic(bullets)
        note = (
            f"a bullet holds more than {MAX_NUMBERS_PER_BULLET} numbers: read by the typography "
            "alone (counts after spaced dashes)"
        )
        return Segmentation(reading, leftovers, (note,))
    return _choose(bullets, target, leftovers)


def _choose(bullets: list[_Bullet], target: int | None, leftovers: tuple[str, ...]) -> Segmentation:
    overall = _best(bullets, None)
    if not overall:  # no number in the list has a label before it
        return Segmentation(Reading((), 0), (*leftovers, *(b.text for b in bullets)), ())
    typographic = overall[0]
    notes = _notes(typographic)
    if target is None or typographic.total == target:
        return Segmentation(typographic, leftovers, notes)
    alternatives = tuple(_best(bullets, target))
    return Segmentation(typographic, leftovers, notes, alternatives)


def _notes(reading: Reading) -> tuple[str, ...]:
    """Nothing when the reading follows the typography; a departure is forced only when a number
    the typography calls a count has no label before it."""
    if not reading.departures:
        return ()
    return (
        f"cause list read against its typography in {reading.departures} place(s), where a "
        f"number that reads as a count has no label before it: {reading.describe()}",
    )


def describe_alternatives(taken: Reading, alternatives: tuple[Reading, ...]) -> str:
    """The finding a failed service-area total carries when other readings add up."""
    shown = " | or: ".join(
        f"{a.describe()} (against the typography in {a.departures} place(s))" for a in alternatives
    )
    return (
        f"the cause list as typed reads {taken.describe()} (total {taken.total}); only a reading "
        f"against its typography adds up: {shown}. Each such reading invents or drops a cause, "
        "so it is never taken: correct the extract if it is right, or waive this total to "
        "publish the list as typed"
    )


# --- tokens -----------------------------------------------------------------------------------


def _bullets(text: str) -> tuple[list[_Bullet], tuple[str, ...]]:
    """Split at bullet characters; keep each piece's candidate counts. A piece with no number,
    or text after its last number, is returned as leftover."""
    bullets: list[_Bullet] = []
    leftovers: list[str] = []
    bulleted = _BULLET.search(text) is not None
    for piece in _BULLET.split(text):
        piece = piece.strip()
        if not piece:
            continue
        candidates = _candidates(piece, bulleted)
        if not candidates:
            _keep_leftover(piece, leftovers)
            continue
        last = candidates[-1]
        _keep_leftover(piece[last.end :], leftovers)
        bullets.append(_Bullet(piece[: last.end], candidates))
    return bullets, tuple(leftovers)


def _keep_leftover(text: str, leftovers: list[str]) -> None:
    if _WORD.search(text):
        leftovers.append(squash(text))


def _candidates(piece: str, bulleted: bool) -> tuple[Candidate, ...]:
    found: list[Candidate] = []
    for m in _NUMBER.finditer(piece):
        before = piece[: m.start()]
        stripped = before.rstrip()
        label_end = len(stripped)
        if stripped and stripped[-1] in DASHES:
            glued = label_end == len(before) and not stripped[:-1].endswith((" ", "\t"))
            separator = Separator.HYPHEN if glued else Separator.SPACED_DASH
            label_end = len(stripped[:-1].rstrip())
        else:
            separator = Separator.SPACE
        after = piece[m.end() :].lstrip(" ;,.")
        next_label = after[:1].isupper() or bool(_LABEL_START.match(after))
        value = int(m.group(1).replace(",", ""))
        looks = _looks_like_count(separator, next_label, bulleted)
        found.append(
            Candidate(
                label_end=label_end,
                end=m.end(),
                value=value,
                last_in_bullet=False,
                looks_like_count=looks,
            )
        )
    if found:
        last = found[-1]
        found[-1] = Candidate(
            label_end=last.label_end,
            end=last.end,
            value=last.value,
            last_in_bullet=True,
            looks_like_count=True,
        )
    return tuple(found)


def _looks_like_count(separator: Separator, next_label: bool, bulleted: bool) -> bool:
    """What the typography says of a number inside a bullet (not its last).

    In a list without bullets, a number after a spaced dash ("Other – 2 Poor communication") is a
    count, and so is one glued by a hyphen and followed by what looks like a label's first word
    ("Information-1 Customer care", "Other-1 24-hour repairs"). In a bulleted list a bullet is one
    cause unless its bullet was lost, which shows as a spaced dash before the number and a label
    after it ("Service failure – 3 Poor communication – 2"). A number after a plain space is part
    of its label ("Section 20 notice", "Stage 2 Review", "Year 1 Fees"), as is one glued by a
    hyphen to a lower-case word ("Covid-19 restrictions", "Tier-1 support")."""
    if separator is Separator.SPACED_DASH:
        return next_label or not bulleted
    return separator is Separator.HYPHEN and next_label and not bulleted


def _label(text: str, start: int, end: int) -> str | None:
    """The label between two counts, or None when no label can stand there."""
    label = squash(text[start:end]).strip(DASHES + " ")
    return label if _LETTER.search(label) else None


# --- readings ---------------------------------------------------------------------------------


def _cost(candidate: Candidate, is_count: bool) -> int:
    """1 when reading this number this way goes against the typography."""
    return int(is_count != candidate.looks_like_count)


def _typographic(bullets: list[_Bullet]) -> Reading:
    causes: list[ListCause] = []
    for bullet in bullets:
        start = 0
        for c in bullet.candidates:
            if _cost(c, True) == 0:
                label = _label(bullet.text, start, c.label_end)
                if label is not None:
                    causes.append(ListCause(label, c.value))
                    start = c.end
    return Reading(tuple(causes), 0)


# A partial reading: (departures, number of causes, the counts' end positions) is its sort key.
_Key = tuple[int, int, tuple[int, ...]]
_Partial = tuple[_Key, tuple[ListCause, ...]]
_States = dict[int, list[_Partial]]  # by the sum of the counts so far: the best two, in order


def _best(bullets: list[_Bullet], target: int | None) -> list[Reading]:
    """The two preferred readings (adding up to `target` when given), best first; [] if none."""
    states: _States = {0: [((0, 0, ()), ())]}
    offset = 0
    for bullet in bullets:
        states = _through_bullet(states, bullet, offset, target)
        offset += len(bullet.text) + 1
        if not states:
            return []
    if target is not None:
        chosen = states.get(target, [])
    else:
        chosen = sorted((p for ps in states.values() for p in ps), key=lambda p: p[0])[:2]
    return [Reading(causes, key[0]) for key, causes in chosen]


def _through_bullet(entry: _States, bullet: _Bullet, offset: int, target: int | None) -> _States:
    """Dynamic programming over the numbers of one bullet: at[j] holds the partial readings whose
    latest count is number j. The bullet's last number is always a count."""
    candidates = bullet.candidates
    at: list[_States] = []
    for j, c in enumerate(candidates):
        here: _States = {}
        sources = [(-1, 0, entry)] + [(i, candidates[i].end, at[i]) for i in range(j)]
        for i, start, states in sources:
            label = _label(bullet.text, start, c.label_end) if states else None
            if label is None:
                continue
            cost = _cost(c, True) + sum(_cost(candidates[k], False) for k in range(i + 1, j))
            cause = ListCause(label, c.value)
            for total, partials in states.items():
                new_total = total + c.value
                if target is not None and new_total > target:
                    continue
                for key, causes in partials:
                    new_key = (key[0] + cost, key[1] + 1, (*key[2], offset + c.end))
                    _keep_best(here, new_total, (new_key, (*causes, cause)))
        at.append(here)
    return at[-1]


def _keep_best(out: _States, total: int, partial: _Partial) -> None:
    held = out.setdefault(total, [])
    held.append(partial)
    if len(held) > 1:
        held.sort(key=lambda p: p[0])
        del held[2:]
