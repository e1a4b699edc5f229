"""The landing folder's ``manifest.yml``: which file is which extract.

Every problem is a ``ManifestError`` naming the manifest and the entry. The folder and the manifest
must agree exactly: a file no entry lists is an error, not something to skip silently.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingest.errors import ManifestError
from ingest.records import KINDS

MANIFEST_NAME = "manifest.yml"
_REQUIRED = ("path", "council", "period", "kind")
_OPTIONAL = ("id", "source_url", "notes")
_PERIOD = re.compile(r"^(\d{4})/(\d{2})$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
# Files in the landing folder that are not extracts.
_IGNORED = {MANIFEST_NAME, "README.md", ".gitkeep"}


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    extract_id: str
    path: str
    council: str
    period: str
    kind: str
    source_url: str | None
    absolute_path: Path

    def read_bytes(self) -> bytes:
        return self.absolute_path.read_bytes()

    def sha256(self) -> str:
        return hashlib.sha256(self.read_bytes()).hexdigest()


def default_id(path: str) -> str:
    stem = Path(path).stem.lower()
    return re.sub(r"[^a-z0-9]+", "_", stem).strip("_") or "extract"


def load_manifest(landing: Path) -> list[ManifestEntry]:
    landing = Path(landing).resolve()
    manifest_path = landing / MANIFEST_NAME
    src = str(manifest_path)
    if not manifest_path.is_file():
        raise ManifestError(src, None, f"no {MANIFEST_NAME} in the landing folder {landing}")
    try:
        doc = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ManifestError(src, None, f"not valid YAML: {exc}") from None
    if (
        not isinstance(doc, dict)
        or set(doc) != {"extracts"}
        or not isinstance(doc["extracts"], list)
    ):
        raise ManifestError(
            src, None, "expected exactly one top-level key 'extracts' holding a list"
        )

    entries: list[ManifestEntry] = []
    seen_paths: dict[Path, int] = {}
    seen_ids: dict[str, int] = {}
    for n, raw in enumerate(doc["extracts"], start=1):
        where = f"entry {n}"
        if not isinstance(raw, dict):
            raise ManifestError(src, None, f"{where}: expected a mapping of keys")
        label = f"{where} ({raw.get('path', '?')})"
        unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise ManifestError(src, None, f"{label}: unknown key(s) {', '.join(unknown)}")
        missing = [k for k in _REQUIRED if not raw.get(k)]
        if missing:
            raise ManifestError(src, None, f"{label}: missing key(s) {', '.join(missing)}")
        rel = str(raw["path"])
        target = (landing / rel).resolve()
        if Path(rel).is_absolute() or not target.is_relative_to(landing):
            raise ManifestError(src, None, f"{label}: path leaves the landing folder {landing}")
        if not target.is_file():
            raise ManifestError(src, None, f"{label}: file {rel} does not exist in {landing}")
        if target in seen_paths:
            raise ManifestError(
                src, None, f"{label}: file {rel} is already listed by entry {seen_paths[target]}"
            )
        seen_paths[target] = n
        kind = str(raw["kind"])
        if kind not in KINDS:
            raise ManifestError(
                src, None, f"{label}: unknown kind {kind!r} (expected one of {', '.join(KINDS)})"
            )
        period = str(raw["period"])
        m = _PERIOD.match(period)
        if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
            raise ManifestError(
                src, None, f"{label}: malformed period {period!r} (expected e.g. 2019/20)"
            )
        extract_id = str(raw.get("id") or default_id(rel))
        if not _ID.match(extract_id):
            raise ManifestError(
                src, None, f"{label}: id {extract_id!r} must be lower-case letters, digits, _"
            )
        if extract_id in seen_ids:
            raise ManifestError(
                src,
                None,
                f"{label}: id {extract_id!r} is already used by entry {seen_ids[extract_id]}",
            )
        seen_ids[extract_id] = n
        entries.append(
            ManifestEntry(
                extract_id=extract_id,
                path=Path(rel).as_posix(),
                council=str(raw["council"]),
                period=period,
                kind=kind,
                source_url=raw.get("source_url"),
                absolute_path=target,
            )
        )

    listed = set(seen_paths)
    for f in sorted(landing.rglob("*")):
        if (
            f.is_file()
            and f.name not in _IGNORED
            and not f.name.startswith(".")
            and f not in listed
        ):
            raise ManifestError(
                src,
                None,
                f"file {f.relative_to(landing)} is in the landing folder but no entry lists it",
            )
    return entries
