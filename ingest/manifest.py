"""The landing folder's ``manifest.yml``: which file is which extract.

Every problem is a ``ManifestError`` naming the manifest, the line and the entry. The folder and
the manifest must agree exactly: a file no entry lists is an error, not something to skip.

The manifest is plain YAML and is read strictly, because every value reaches published tables:
no anchors, aliases or tags (a few bytes of aliases can expand to gigabytes), bounded size and
nesting, every value of its declared type (text is text, never a list or a mapping printed as
text), text stripped and on one line where the format says so.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

from ingest.departments import Department, load_department_file, parse_department_entries
from ingest.errors import ExtractError, ManifestError
from ingest.records import KINDS

MANIFEST_NAME: Final = "manifest.yml"
MAX_MANIFEST_BYTES: Final = 1 << 20
"""The bytes any manifest may hold whatever its length: a small landing's manifest is read in full
up to here, as before entries were counted."""
MANIFEST_BYTES_PER_ENTRY: Final = 2 << 10
"""Each entry of 'extracts' read so far allows this many more bytes (an honest entry, departments
included, is a few hundred): the limit grows with the landing, and a hostile document cannot grow
far past the entries it really lists. Checked while the document is read, at every YAML event."""
MAX_MANIFEST_ENTRIES: Final = 20_000
"""More entries than a national landing (every council, both layouts, a decade) would list."""
MAX_MANIFEST_READ: Final = MAX_MANIFEST_BYTES + MAX_MANIFEST_ENTRIES * MANIFEST_BYTES_PER_ENTRY
"""The most bytes ever read from a manifest: one past it is refused before any YAML is parsed."""
CONTEXT_COLUMNS: Final = ("council", "period", "residents")
MAX_CONTEXT_BYTES: Final = 64 << 10
CONTEXT_BYTES_PER_ENTRY: Final = 256
"""A context file holds at most one row per council and period of the manifest's entries: its
limit grows with the entries as the manifest's does."""
MAX_DEPTH: Final = 6
MAX_TEXT: Final = 1000
MAX_EXTRACT_BYTES: Final = 64 << 20
"""Default maximum extract size: real appendices are a few kilobytes; a file this large is not one
appendix, and parsing it would hold it (and its rows) in memory. Configurable
(ComplaintsConfig.max_extract_bytes, COMPLAINTS_MAX_EXTRACT_BYTES)."""
_REQUIRED: Final = ("path", "council", "period", "kind")
_OPTIONAL: Final = ("id", "source_url", "notes", "departments", "department_map")
_TOP_LEVEL: Final = ("extracts", "council_context")
_PERIOD: Final = re.compile(r"(\d{4})/(\d{2})")
_ID: Final = re.compile(r"[a-z0-9][a-z0-9_]*")
# libyaml's parser when PyYAML was built with it (the same events and nodes, several times faster
# on a national manifest), else PyYAML's own.
_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Files in the landing folder that are not extracts.
_IGNORED: Final = {MANIFEST_NAME, "README.md", ".gitkeep"}


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    extract_id: str
    path: str
    council: str
    period: str
    kind: str
    source_url: str | None
    absolute_path: Path
    departments: Mapping[str, Department] = field(default_factory=dict)
    """Service heading -> department for sections that lost their heading: the entry's mapping
    file overridden by its inline entries (the bundled council file comes under both)."""
    line: int | None = None

    def read_bytes(self, max_bytes: int = MAX_EXTRACT_BYTES) -> bytes:
        return read_extract(self.absolute_path, max_bytes)

    def sha256(self) -> str:
        return _file_hash(self.absolute_path).hexdigest()

    def fingerprint(self, data: bytes | None = None) -> str:
        """Content hash plus every manifest field that changes what the rows say; `data` is the
        file's content when already read (so the hash is of exactly the bytes parsed)."""
        h = _file_hash(self.absolute_path) if data is None else hashlib.sha256(data)
        mapping = sorted((k, v.department, v.directorate) for k, v in self.departments.items())
        fields = [self.kind, self.period, self.council, self.path, self.source_url, mapping]
        h.update(json.dumps(fields, sort_keys=True).encode())
        return h.hexdigest()


def _file_hash(path: Path) -> hashlib._Hash:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


def read_extract(path: Path, max_bytes: int = MAX_EXTRACT_BYTES) -> bytes:
    """An extract's bytes, refused (ExtractError naming the file) beyond `max_bytes`; never reads
    more than one byte past the limit, so a file that grows while read is refused too."""
    try:
        with Path(path).open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise ExtractError(
            str(path),
            None,
            f"cannot read the extract: {exc.strerror or exc}; if the landing folder changed "
            "while the run read it, run again once it is complete",
        ) from None
    if len(data) > max_bytes:
        raise ExtractError(
            str(path),
            None,
            f"the extract is larger than the maximum extract size ({max_bytes} bytes): a real "
            "appendix is far smaller; check the file, or raise COMPLAINTS_MAX_EXTRACT_BYTES "
            "(ComplaintsConfig.max_extract_bytes) if it really is one appendix",
        )
    return data


def default_id(path: str) -> str:
    stem = Path(path).stem.lower()
    return re.sub(r"[^a-z0-9]+", "_", stem).strip("_") or "extract"


@dataclass(frozen=True, slots=True)
class ContextRow:
    """One row of the council context file: a council's residents in one period."""

    council: str
    period: str
    residents: int
    line: int


@dataclass(frozen=True, slots=True)
class CouncilContext:
    """The context file the manifest names (`council_context:`): residents per council and
    period, the denominators of the per-resident rates (the appendices do not state them)."""

    path: str
    """Relative to the landing folder, as the manifest writes it."""
    rows: tuple[ContextRow, ...]

    def fingerprint(self) -> str:
        return context_fingerprint(self)


def context_fingerprint(context: CouncilContext | None) -> str:
    """What the raw context table holds when loaded from `context` (None: no context file, an
    empty table): the sensor compares it with the fingerprint the load recorded. Line numbers
    and the file's name are left out: moving a row or renaming the file changes no figure."""
    rows = sorted((r.council, r.period, r.residents) for r in context.rows) if context else []
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """One parse of a landing folder's manifest: its entries, its council context (when it names
    one) and a SHA-256 of what was read: the manifest's bytes, and the context file's after them
    when there is one (a run records it at its start, so its steps can tell an edit made while
    it ran)."""

    entries: tuple[ManifestEntry, ...]
    sha256: str
    council_context: CouncilContext | None = None


# One parse per landing folder and state of that folder: every step of an in-process run (and
# each sensor tick of an unchanged folder) reuses it instead of parsing the same bytes again.
_CACHE: dict[Path, tuple[object, Manifest]] = {}
_parses = 0


def parse_count() -> int:
    """How many manifest parses this process has finished (cache hits are not parses)."""
    return _parses


def load_manifest(landing: Path) -> list[ManifestEntry]:
    return list(read_manifest(landing).entries)


def read_manifest(landing: Path) -> Manifest:
    """The landing folder's manifest, parsed again only when its bytes or any file of the folder
    (an extract, a department mapping) changed since the last parse in this process."""
    landing = Path(landing).resolve()
    require_landing(landing)
    try:
        return _read_manifest(landing)
    except FileNotFoundError:
        require_landing(landing)  # moved or removed while we read it: said in the same words
        raise


def _read_manifest(landing: Path) -> Manifest:
    manifest_path = landing / MANIFEST_NAME
    if not manifest_path.is_file():
        require_landing(landing)
        raise ManifestError(
            str(manifest_path), None, f"no {MANIFEST_NAME} in the landing folder {landing}"
        )
    with manifest_path.open("rb") as f:
        # One byte past the limit is enough for _read_document to refuse the file.
        data = f.read(MAX_MANIFEST_READ + 1)
    digest = hashlib.sha256(data).hexdigest()
    key = (digest, _folder_state(landing))
    cached = _CACHE.get(landing)
    if cached is not None and cached[0] == key:
        return cached[1]
    entries, context, context_bytes = _parse(landing, data)
    if context_bytes is not None:
        digest = hashlib.sha256(data + b"\0" + context_bytes).hexdigest()
    manifest = Manifest(tuple(entries), digest, context)
    _CACHE[landing] = (key, manifest)
    global _parses
    _parses += 1
    return manifest


def require_landing(landing: Path) -> None:
    """Refuse a landing folder that is not there, whether it never was or was moved or removed
    while a run read it: every step that finds it gone says so in the same words."""
    if not Path(landing).is_dir():
        raise ManifestError(
            str(Path(landing) / MANIFEST_NAME),
            None,
            f"the landing folder {landing} does not exist (moved or removed?): nothing was "
            "loaded or published from it; run again once it is back",
        )


def _folder_state(landing: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file under the landing folder but the manifest, with its size and modification
    time: what the parse checks (files exist, are listed) and reads (mapping files)."""
    state = []
    for f in sorted(landing.rglob("*")):
        if f.name == MANIFEST_NAME and f.parent == landing:
            continue
        try:
            st = f.stat()
        except OSError:
            continue
        state.append((str(f.relative_to(landing)), st.st_size, st.st_mtime_ns))
    return tuple(state)


def _parse(
    landing: Path, data: bytes
) -> tuple[list[ManifestEntry], CouncilContext | None, bytes | None]:
    """The entries, the council context and the context file's bytes (None without one)."""
    src = str(landing / MANIFEST_NAME)
    items, context_node = _read_document(data, src)
    entries: list[ManifestEntry] = []
    seen_paths: dict[Path, int] = {}
    seen_ids: dict[str, int] = {}
    maps: set[Path] = set()
    for n, node in enumerate(items, start=1):
        entry = _entry(node, n, landing, src)
        if entry.absolute_path in seen_paths:
            raise ManifestError(
                src,
                entry.line,
                f"entry {n} ({entry.path}): file {entry.path} is already listed by entry "
                f"{seen_paths[entry.absolute_path]}",
            )
        if entry.extract_id in seen_ids:
            raise ManifestError(
                src,
                entry.line,
                f"entry {n} ({entry.path}): id {entry.extract_id!r} is already used by entry "
                f"{seen_ids[entry.extract_id]}",
            )
        seen_paths[entry.absolute_path] = n
        seen_ids[entry.extract_id] = n
        maps.update(_mapping_file(node, landing) or ())
        entries.append(entry)
    context, context_bytes = None, None
    if context_node is not None:
        context, context_bytes, context_path = _council_context(context_node, landing, src, entries)
        maps.add(context_path)
    _require_listed(landing, set(seen_paths) | maps, src)
    return entries, context, context_bytes


# --- strict YAML ------------------------------------------------------------------------------


def _read_document(data: bytes, src: str) -> tuple[list[yaml.MappingNode], yaml.Node | None]:
    """The manifest's entries as YAML nodes (which keep their line numbers), and the node of its
    `council_context` key when it has one."""
    if len(data) > MAX_MANIFEST_READ:
        raise ManifestError(
            src,
            None,
            f"the manifest is more than {MAX_MANIFEST_READ} bytes, the most read from any "
            f"manifest ({MAX_MANIFEST_ENTRIES} entries of {MANIFEST_BYTES_PER_ENTRY} bytes)",
        )
    try:
        text = data.decode("utf-8-sig")
        _check_plain(text, src)
        root = yaml.compose(text, Loader=_LOADER)
    except UnicodeDecodeError:
        raise ManifestError(src, None, "not UTF-8 text") from None
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):
            # libyaml's own bound, met while it reads ahead of the events _check_plain counts.
            raise ManifestError(
                src, _mark_line(exc), f"nested more than {MAX_DEPTH} levels deep: not a manifest"
            ) from None
        raise ManifestError(src, _mark_line(exc), f"not valid YAML: {exc}") from None
    keys = [_key(k) for k, _ in root.value] if isinstance(root, yaml.MappingNode) else []
    if (
        not isinstance(root, yaml.MappingNode)
        or "extracts" not in keys
        or len(set(keys)) != len(keys)
        or not set(keys) <= set(_TOP_LEVEL)
    ):
        raise ManifestError(
            src,
            None,
            "expected the top-level key 'extracts' holding a list, and optionally "
            "'council_context' naming a CSV file, each once and nothing else",
        )
    top = {_key(k): v for k, v in root.value}
    items = top["extracts"]
    if not isinstance(items, yaml.SequenceNode):
        raise ManifestError(src, _line(items), "'extracts' must be a list of entries")
    if not items.value:
        raise ManifestError(
            src,
            _line(items),
            "'extracts' is empty: list at least one extract. Nothing was changed: an empty "
            "manifest is refused so that a mistake cannot remove every extract",
        )
    for node in items.value:
        if not isinstance(node, yaml.MappingNode):
            raise ManifestError(src, _line(node), "each entry of 'extracts' must be a mapping")
    return list(items.value), top.get("council_context")


def _check_plain(text: str, src: str) -> None:
    """Refuse anchors, aliases, explicit tags, deep nesting and a document larger than its
    entries allow (MANIFEST_BYTES_PER_ENTRY) before anything is built."""
    depth = 0
    entries = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else None
        # The entries of 'extracts' are the mappings at depth 3 (document, list, entry).
        if isinstance(event, yaml.MappingStartEvent) and depth == 2:
            entries += 1
        allowed = MAX_MANIFEST_BYTES + entries * MANIFEST_BYTES_PER_ENTRY
        if event.end_mark is not None and event.end_mark.index > allowed:
            raise ManifestError(
                src,
                line,
                f"the manifest holds more than {allowed} characters by here, for {entries} "
                f"entries: at most {MAX_MANIFEST_BYTES} plus {MANIFEST_BYTES_PER_ENTRY} per "
                "entry are read (an entry is a few hundred); not a manifest",
            )
        if entries > MAX_MANIFEST_ENTRIES:
            raise ManifestError(
                src, line, f"more than {MAX_MANIFEST_ENTRIES} entries: not one landing's manifest"
            )
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ManifestError(src, line, "YAML anchors and aliases are not allowed here")
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):  # the parser sets a tag only when one is written
            raise ManifestError(src, line, f"YAML tags ({tag}) are not allowed here")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ManifestError(
                    src, line, f"nested more than {MAX_DEPTH} levels deep: not a manifest"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _key(node: yaml.Node) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _scalar(node: yaml.Node) -> object:
    """A scalar as YAML types it (str, int, bool, None, date...); collections as themselves."""
    if isinstance(node, yaml.ScalarNode):
        return yaml.SafeLoader("").construct_object(node)
    return node


def _plain(node: yaml.Node) -> object:
    """A whole subtree as Python values (the subtree is small and already checked plain)."""
    return yaml.SafeLoader("").construct_document(node)


# --- one entry --------------------------------------------------------------------------------


def _fields(node: yaml.MappingNode, where: str, src: str) -> dict[str, yaml.Node]:
    fields: dict[str, yaml.Node] = {}
    for key_node, value in node.value:
        key = _key(key_node)
        if key is None:
            raise ManifestError(src, _line(key_node), f"{where}: keys must be plain text")
        if key in fields:
            raise ManifestError(src, _line(key_node), f"{where}: key {key!r} is given twice")
        fields[key] = value
    return fields


def _text(
    fields: dict[str, yaml.Node], key: str, label: str, src: str, one_line: bool = True
) -> str | None:
    node = fields.get(key)
    if node is None:
        return None
    value = _scalar(node)
    if value is None:
        return None
    if not isinstance(value, str):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else type(value).__name__
        if isinstance(node, yaml.MappingNode):
            kind = "a mapping"
        raise ManifestError(src, _line(node), f"{label}: {key} must be text, got {kind}")
    text = value.strip()
    if one_line and ("\n" in text or "\r" in text):
        raise ManifestError(src, _line(node), f"{label}: {key} must be on one line")
    if len(text) > MAX_TEXT:
        raise ManifestError(
            src, _line(node), f"{label}: {key} is longer than {MAX_TEXT} characters"
        )
    return text or None


def _entry(node: yaml.MappingNode, n: int, landing: Path, src: str) -> ManifestEntry:
    line = _line(node)
    fields = _fields(node, f"entry {n}", src)
    path_text = _text(fields, "path", f"entry {n}", src)
    label = f"entry {n} ({path_text or '?'})"
    unknown = sorted(set(fields) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ManifestError(src, line, f"{label}: unknown key(s) {', '.join(unknown)}")
    values = {k: _text(fields, k, label, src) for k in (*_REQUIRED, "id", "source_url")}
    _text(fields, "notes", label, src, one_line=False)
    missing = [k for k in _REQUIRED if not values[k]]
    if missing:
        raise ManifestError(src, line, f"{label}: missing key(s) {', '.join(missing)}")
    rel, council, period, kind = (str(values[k]) for k in _REQUIRED)
    target = _inside(landing, rel, label, src, line)
    if kind not in KINDS:
        raise ManifestError(
            src, line, f"{label}: unknown kind {kind!r} (expected one of {', '.join(KINDS)})"
        )
    m = _PERIOD.fullmatch(period)
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise ManifestError(
            src, line, f"{label}: malformed period {period!r} (expected e.g. 2019/20)"
        )
    extract_id = values["id"] or default_id(rel)
    if not _ID.fullmatch(extract_id):
        raise ManifestError(
            src, line, f"{label}: id {extract_id!r} must be lower-case letters, digits, _"
        )
    return ManifestEntry(
        extract_id=extract_id,
        path=Path(rel).as_posix(),
        council=council,
        period=period,
        kind=kind,
        source_url=values["source_url"],
        absolute_path=target,
        departments=_departments(fields, landing, label, src),
        line=line,
    )


def _inside(landing: Path, rel: str, label: str, src: str, line: int) -> Path:
    target = (landing / rel).resolve()
    if Path(rel).is_absolute() or not target.is_relative_to(landing):
        raise ManifestError(src, line, f"{label}: path leaves the landing folder {landing}")
    if not target.is_file():
        require_landing(landing)
        raise ManifestError(src, line, f"{label}: file {rel} does not exist in {landing}")
    return target


def _departments(
    fields: dict[str, yaml.Node], landing: Path, label: str, src: str
) -> dict[str, Department]:
    merged: dict[str, Department] = {}
    map_node = fields.get("department_map")
    if map_node is not None:
        rel = _text(fields, "department_map", label, src)
        if rel:
            path = _inside(landing, rel, f"{label}: department_map", src, _line(map_node))
            merged.update(load_department_file(path))
    inline = fields.get("departments")
    if inline is not None:
        if not isinstance(inline, yaml.MappingNode):
            raise ManifestError(
                src, _line(inline), f"{label}: departments must map service headings to departments"
            )
        try:
            merged.update(parse_department_entries(_plain(inline), src, f"{label}: departments"))
        except ManifestError as exc:
            raise ManifestError(src, _line(inline), exc.reason) from None
    return merged


def _mapping_file(node: yaml.MappingNode, landing: Path) -> list[Path] | None:
    for key_node, value in node.value:
        if _key(key_node) == "department_map" and isinstance(value, yaml.ScalarNode):
            return [(landing / str(value.value).strip()).resolve()]
    return None


# How many unlisted files a refusal names (it counts them all).
_UNLISTED_NAMED = 5


def _require_listed(landing: Path, listed: set[Path], src: str) -> None:
    """Every file of the landing folder is listed; a refusal counts all the others and names the
    first few (a folder can hold thousands of stray files: all of them would bury the line)."""
    unlisted = [
        f.relative_to(landing)
        for f in sorted(landing.rglob("*"))
        if f.is_file()
        and f.name not in _IGNORED
        and not f.name.startswith(".")
        and f.resolve() not in listed
    ]
    if not unlisted:
        return
    advice = f"list it in {MANIFEST_NAME} or move it out of the landing folder"
    if len(unlisted) == 1:
        raise ManifestError(
            src,
            None,
            f"file {unlisted[0]} is in the landing folder but no entry lists it: {advice}",
        )
    first = ", ".join(str(f) for f in unlisted[:_UNLISTED_NAMED])
    more = len(unlisted) - _UNLISTED_NAMED
    raise ManifestError(
        src,
        None,
        f"{len(unlisted):,} files in the landing folder are not listed in {MANIFEST_NAME}: "
        f"{first}{f' and {more:,} more' if more > 0 else ''}; list each in {MANIFEST_NAME} (one "
        "entry per extract) or move them out of the landing folder",
    )


# --- the council context file -----------------------------------------------------------------


def _council_context(
    node: yaml.Node, landing: Path, src: str, entries: list[ManifestEntry]
) -> tuple[CouncilContext, bytes, Path]:
    """The context file the manifest names, every row checked against the manifest's entries;
    its bytes (part of the run's fingerprint) and its path (a listed file of the landing)."""
    rel = _text({"council_context": node}, "council_context", "council_context", src)
    if not rel:
        raise ManifestError(src, _line(node), "council_context: name a CSV file, or leave it out")
    path = _inside(landing, rel, "council_context", src, _line(node))
    limit = MAX_CONTEXT_BYTES + CONTEXT_BYTES_PER_ENTRY * len(entries)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ManifestError(
            str(path), None, f"cannot read the council context file: {exc.strerror or exc}"
        ) from None
    if len(data) > limit:
        raise ManifestError(
            str(path),
            None,
            f"the council context file is larger than {limit} bytes ({MAX_CONTEXT_BYTES} plus "
            f"{CONTEXT_BYTES_PER_ENTRY} per manifest entry): it holds one row per council and "
            "period of the manifest's extracts",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(str(path), None, "the council context file is not UTF-8 text") from None
    rows = parse_context_csv(text, str(path), entries)
    return CouncilContext(Path(rel).as_posix(), tuple(rows)), data, path


def parse_context_csv(text: str, src: str, entries: list[ManifestEntry]) -> list[ContextRow]:
    """Rows `council,period,residents` (header first, columns in any order), each naming a
    council and period of `entries`, residents a positive whole number, no pair twice. A bad row
    is refused (ManifestError naming `src`, the line and the column), never skipped or fixed."""
    periods: dict[str, set[str]] = {}
    for e in entries:
        periods.setdefault(e.council, set()).add(e.period)
    lines = text.splitlines()
    header_at = next((n for n, line in enumerate(lines, 1) if line.strip()), None)
    if header_at is None:
        raise ManifestError(
            src, None, f"the council context file is empty: expected {','.join(CONTEXT_COLUMNS)}"
        )
    header = [h.strip().lower() for h in next(csv.reader([lines[header_at - 1]]))]
    missing = [c for c in CONTEXT_COLUMNS if c not in header]
    unknown = [h for h in header if h not in CONTEXT_COLUMNS]
    twice = sorted({h for h in header if header.count(h) > 1})
    if missing or unknown or twice:
        problems = [
            *([f"missing column(s) {', '.join(missing)}"] if missing else []),
            *([f"unknown column(s) {', '.join(repr(u) for u in unknown)}"] if unknown else []),
            *([f"column(s) {', '.join(twice)} given twice"] if twice else []),
        ]
        raise ManifestError(
            src,
            header_at,
            f"header: {'; '.join(problems)} (expected the columns {', '.join(CONTEXT_COLUMNS)})",
        )
    at = {name: header.index(name) for name in CONTEXT_COLUMNS}
    rows: list[ContextRow] = []
    seen: dict[tuple[str, str], int] = {}
    for n, line in enumerate(lines[header_at:], start=header_at + 1):
        if not line.strip():
            continue
        cells = next(csv.reader([line]))
        if len(cells) != len(header):
            raise ManifestError(
                src,
                n,
                f"expected {len(header)} columns ({', '.join(header)}), found {len(cells)}",
            )
        council, period, residents = (cells[at[c]].strip() for c in CONTEXT_COLUMNS)
        if council not in periods:
            known = sorted(periods)
            shown = ", ".join(known[:5]) + (f" and {len(known) - 5} more" if len(known) > 5 else "")
            raise ManifestError(
                src,
                n,
                f"column council: {council!r} is not a council of the manifest's extracts "
                f"({shown}); write it exactly as the manifest does",
            )
        if period not in periods[council]:
            raise ManifestError(
                src,
                n,
                f"column period: {council} has no extract for period {period!r} in the manifest "
                f"(its periods: {', '.join(sorted(periods[council]))})",
            )
        if not (residents.isascii() and residents.isdigit() and int(residents) > 0):
            raise ManifestError(
                src,
                n,
                f"column residents: {residents!r} is not a positive whole number (write the "
                "number of residents in digits, without separators)",
            )
        if (council, period) in seen:
            raise ManifestError(
                src,
                n,
                f"columns council, period: {council} {period} is already given on line "
                f"{seen[council, period]}; one row per council and period",
            )
        seen[council, period] = n
        rows.append(ContextRow(council, period, int(residents), n))
    return rows
