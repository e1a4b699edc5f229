"""Departments of Appendix C sections that lost their directorate heading: data per council.

Such a section still names its services in the Actions column ("Contact Centre", "CYP"). Which
department a service heading belongs to is knowledge about one council, so it is data:

- the bundled file `service_departments.yml` holds what we know, per council (today: Brent);
- a manifest entry may name a mapping file (`department_map:`) and/or give `departments:` inline.

Inline entries win over the file, and the file over the bundled council's entries. Headings are
compared after folding case, spaces, dashes and curly quotes. Nothing here guesses: a heading no
entry names gives no department.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

import yaml

from ingest.errors import ManifestError
from ingest.text import DASHES, squash

BUNDLED_FILE: Final = "service_departments.yml"
_QUOTES: Final = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'"})
_DASH_TO_HYPHEN: Final = str.maketrans({d: "-" for d in DASHES})
MAX_NAME_LENGTH: Final = 200


@dataclass(frozen=True, slots=True)
class Department:
    department: str
    directorate: str | None = None


DepartmentMap = Mapping[str, Department]
"""Folded service heading (see `heading_key`) -> its department."""


def heading_key(text: str) -> str:
    return squash(text.translate(_QUOTES).translate(_DASH_TO_HYPHEN)).lower()


def parse_department_entries(entries: object, source: str, where: str) -> dict[str, Department]:
    """`{heading: department}` or `{heading: {department: ..., directorate: ...}}` -> map.

    Raises ManifestError naming `source` and `where` (the manifest entry or the mapping file)."""
    if not isinstance(entries, dict):
        raise ManifestError(
            source, None, f"{where}: expected a mapping of service heading -> department"
        )
    out: dict[str, Department] = {}
    for heading, value in entries.items():
        name = _single_line(heading, source, f"{where}: service heading {heading!r}")
        label = f"{where}: service heading {name!r}"
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"department", "directorate"})
            if unknown:
                raise ManifestError(
                    source, None, f"{label}: unknown key(s) {', '.join(map(str, unknown))}"
                )
            department = _single_line(value.get("department"), source, f"{label}: department")
            directorate = value.get("directorate")
            out[heading_key(name)] = Department(
                department,
                None
                if directorate is None
                else _single_line(directorate, source, f"{label}: directorate"),
            )
        else:
            out[heading_key(name)] = Department(_single_line(value, source, f"{label}: department"))
    return out


def _single_line(value: object, source: str, what: str) -> str:
    if not isinstance(value, str):
        raise ManifestError(source, None, f"{what} must be text, got {type(value).__name__}")
    text = squash(value)
    if not text or "\n" in value.strip() or len(text) > MAX_NAME_LENGTH:
        raise ManifestError(
            source, None, f"{what} must be one line of 1 to {MAX_NAME_LENGTH} characters"
        )
    if text.startswith("<") and text.endswith(">"):
        raise ManifestError(source, None, f"{what} is still the placeholder {text!r}: fill it in")
    return text


def load_department_file(path: Path) -> dict[str, Department]:
    """A mapping file: `service_headings: {heading: department, ...}`."""
    source = str(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ManifestError(
            source, None, f"cannot read the department mapping file: {exc}"
        ) from None
    if not isinstance(doc, dict) or set(doc) != {"service_headings"}:
        raise ManifestError(
            source, None, "a department mapping file holds one key, 'service_headings'"
        )
    return parse_department_entries(doc["service_headings"], source, "service_headings")


@cache
def _bundled() -> dict[str, dict[str, Department]]:
    text = resources.files("ingest").joinpath(BUNDLED_FILE).read_text("utf-8")
    doc = yaml.safe_load(text) or {}
    councils = doc.get("councils") or {}
    return {
        heading_key(str(council)): parse_department_entries(entries, BUNDLED_FILE, str(council))
        for council, entries in councils.items()
    }


def bundled_departments(council: str | None) -> dict[str, Department]:
    """What the bundled file knows about this council's service headings (nothing for others)."""
    if council is None:
        return {}
    return dict(_bundled().get(heading_key(council), {}))


def resolve_departments(
    council: str | None,
    mapping_file: DepartmentMap | None = None,
    inline: DepartmentMap | None = None,
) -> dict[str, Department]:
    """Bundled entries for the council, overridden by the mapping file, then by inline ones."""
    merged = bundled_departments(council)
    merged.update(mapping_file or {})
    merged.update(inline or {})
    return merged
