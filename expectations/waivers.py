"""Reviewed waivers: exact, versioned acceptances of known discrepancies in source documents.

A waiver names one control total completely (extract, check, scope, measure, stated and computed
values) so it can never cover a different discrepancy: if the extract changes and any number
differs, the waiver stops applying and the gate blocks again.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingest.vocabulary import WAIVABLE_LEVELS

WAIVERS_FILE = Path(__file__).with_name("waivers.yml")

# The control-total levels a waiver can name: the shared vocabulary's waivable levels.
CHECKS = WAIVABLE_LEVELS
_KEYS = (
    "id",
    "extract_id",
    "check",
    "scope",
    "measure",
    "stated",
    "computed",
    "reason",
    "reviewed_by",
    "reviewed_on",
)


class WaiverError(ValueError):
    """The waiver file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Waiver:
    waiver_id: str
    extract_id: str
    check: str
    scope: str
    measure: str
    stated: int
    computed: int
    reason: str
    reviewed_by: str
    reviewed_on: dt.date

    def as_row(self) -> tuple[object, ...]:
        """The row for raw.waivers (complaints.raw_store.WAIVER_COLUMNS order)."""
        return (
            self.waiver_id,
            self.extract_id,
            self.check,
            self.scope,
            self.measure,
            self.stated,
            self.computed,
            self.reason,
            self.reviewed_by,
            self.reviewed_on,
        )


def parse_waivers(doc: object, source: str = "waivers.yml") -> list[Waiver]:
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) - {"waivers"}:
        raise WaiverError(f"{source}: expected a mapping with a single key 'waivers'")
    entries = doc.get("waivers") or []
    if not isinstance(entries, list):
        raise WaiverError(f"{source}: 'waivers' must be a list")
    waivers: list[Waiver] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: waiver #{index}"
        if not isinstance(entry, dict):
            raise WaiverError(f"{where}: expected a mapping")
        where = f"{source}: waiver #{index} ({entry.get('id', 'no id')})"
        unknown = sorted(set(entry) - set(_KEYS))
        missing = [k for k in _KEYS if entry.get(k) is None or str(entry.get(k)).strip() == ""]
        if unknown:
            raise WaiverError(f"{where}: unknown keys {unknown}")
        if missing:
            raise WaiverError(f"{where}: missing {missing}; a waiver must be complete and exact")
        for key in ("id", "extract_id", "check", "scope", "measure", "reason", "reviewed_by"):
            if isinstance(entry[key], (list, dict, set)):
                raise WaiverError(f"{where}: {key} must be a single value, got {entry[key]!r}")
        if entry["check"] not in CHECKS:
            raise WaiverError(f"{where}: unknown check {entry['check']!r}; one of {sorted(CHECKS)}")
        for key in ("stated", "computed"):
            if not isinstance(entry[key], int) or isinstance(entry[key], bool):
                raise WaiverError(f"{where}: {key} must be an integer, got {entry[key]!r}")
        if entry["stated"] == entry["computed"]:
            raise WaiverError(f"{where}: stated equals computed; nothing to waive")
        reviewed_on = entry["reviewed_on"]
        if isinstance(reviewed_on, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", reviewed_on):
            try:
                reviewed_on = dt.date.fromisoformat(reviewed_on)
            except ValueError:
                raise WaiverError(f"{where}: reviewed_on must be a date (YYYY-MM-DD)") from None
        # A datetime is a date too, but a review date has no time of day.
        if not isinstance(reviewed_on, dt.date) or isinstance(reviewed_on, dt.datetime):
            raise WaiverError(f"{where}: reviewed_on must be a date (YYYY-MM-DD)")
        # Ids are stored as text, so 1 and "1" are the same id.
        if str(entry["id"]) in seen:
            raise WaiverError(f"{where}: duplicate id")
        seen.add(str(entry["id"]))
        waivers.append(
            Waiver(
                waiver_id=str(entry["id"]),
                extract_id=str(entry["extract_id"]),
                check=entry["check"],
                scope=str(entry["scope"]),
                measure=str(entry["measure"]),
                stated=entry["stated"],
                computed=entry["computed"],
                reason=str(entry["reason"]),
                reviewed_by=str(entry["reviewed_by"]),
                reviewed_on=reviewed_on,
            )
        )
    return waivers


def load_waivers(path: Path | None = None) -> list[Waiver]:
    """Read the waiver file (default: the one shipped, expectations/waivers.yml; the pipeline
    passes the one its configuration names, $COMPLAINTS_WAIVERS)."""
    path = path or WAIVERS_FILE
    if not path.exists():
        return []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise WaiverError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError:
        raise WaiverError(f"{path}: not UTF-8 text; save the waiver file as UTF-8") from None
    except OSError as exc:
        raise WaiverError(f"{path}: cannot read the waiver file: {exc.strerror}") from None
    return parse_waivers(doc, str(path))
