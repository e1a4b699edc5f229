"""Appendix 1 layout (``outcome_matrix``): a flattened pivot of department -> root cause -> issue
type rows, each with five outcome counts and their total.

The hierarchy is recovered from the subtotal arithmetic, never from lists of names: a department
row's total equals the sum of the root-cause rows under it, and a root-cause row's total the sum of
its issue-type rows. Because every row total is at least 1, the prefix sums hit each stated
subtotal at exactly one place, so the block boundaries are unique.

Stated subtotal rows are evidence and never changed. Issue-type rows may be repaired only when
the arithmetic proves a single candidate: the row's own cells disagree with its total and exactly
one combination of single-cell fixes (and drops of nameless rows with no total) makes every
outcome column of the block add up to the stated subtotal. Every repair, drop, rejoined name and
cleared stray token is recorded.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ingest.control_totals import explain_by_single_child
from ingest.errors import (
    MalformedRowError,
    TruncatedExtractError,
    UnknownLayoutError,
    UnreconcilableBlockError,
)
from ingest.periods import find_period
from ingest.records import (
    OUTCOME_COLUMNS,
    ControlTotal,
    OutcomeRow,
    ParsedExtract,
    ParseWarning,
    Repair,
    Subtotal,
)
from ingest.text import squash, strip_tags
from ingest.vocabulary import (
    GRAND_TOTAL,
    LEVEL_DEPARTMENT,
    LEVEL_GRAND_TOTAL,
    LEVEL_ROOT_CAUSE,
    LEVEL_ROW,
    STATUS_FAILED,
    STATUS_OK,
    TOTAL_MEASURE,
    UNNAMED_ROW,
    root_cause_scope,
    row_scope,
)

HEADER_KEY = "departmentrootcauseandissuetype"
"""The header row's first cell folded to letters: 'Department, Root Cause and Issue types' in any
spacing, case or punctuation."""
MEASURES: tuple[str, ...] = (*OUTCOME_COLUMNS, TOTAL_MEASURE)
_NUMBER = re.compile(r"^\d{1,3}(?:,\d{3})*$|^\d+$")
_LONE_LETTER = re.compile(r"^[A-Za-z]$")
_ONLY_PUNCT = re.compile(r"^[\W_]*$")
_MAX_REPAIR_COMBINATIONS = 4096
_SMALL_INT = {str(i): i for i in range(10000)} | {"": 0}
_CLEAN_ROW = re.compile(r"^([^\t<]*)((?:\t\d*){5}\t\d+)\t*$")
_NOT_LETTERS = re.compile(r"[^a-z]")
_SUPER_HEADER_CELL = re.compile(r"^[A-Za-z][A-Za-z /&-]{2,}$")


def _is_header(first_cell: str) -> bool:
    return _NOT_LETTERS.sub("", first_cell.lower()).startswith(HEADER_KEY)


def _is_super_header(fields: list[str]) -> bool:
    """The 'Outcomes' row above the header, repeated on a new page: no name, words, no digits."""
    cells = [c.strip() for c in fields[1:] if c.strip()]
    return not fields[0].strip() and bool(cells) and all(_SUPER_HEADER_CELL.match(c) for c in cells)


@dataclass(slots=True)
class _Row:
    line: int
    raw: str
    name: str
    values: list[int]  # five outcomes then total; an empty cell reads as 0
    has_total: bool
    is_grand: bool = False

    @property
    def total(self) -> int:
        return self.values[5]

    @property
    def outcome_sum(self) -> int:
        return sum(self.values[:5])

    def fmt(self) -> str:
        return "/".join(str(v) for v in self.values)


@dataclass(slots=True)
class _Block:
    parent: _Row
    children: list[_Row]
    noise: list[_Row]
    sums: list[int] | None = None  # column sums of the children, kept when no repair changed them


def parse_outcome_matrix(lines: list[str], source: str) -> ParsedExtract:
    result = ParsedExtract(source=source, kind="outcome_matrix")
    rows = _read_rows(lines, source, result)
    departments, grand = _recover_hierarchy(rows, source)

    for _dept, rc_blocks in departments:
        for block in rc_blocks:
            _reconcile_block(block, result)
    _emit(departments, grand, result)
    return result


# --- reading rows -----------------------------------------------------------------------------


def _read_rows(lines: list[str], source: str, result: ParsedExtract) -> list[_Row]:
    start = _first_header(lines, source)
    _preamble(lines[:start], result)
    rows: list[_Row] = []
    last_nonblank = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), -1)
    clean_row = _CLEAN_ROW.match
    for idx in range(start + 1, len(lines)):
        raw = lines[idx]
        clean = clean_row(raw)
        if clean:  # the common case: plain name, six number-or-empty cells
            row = _clean_row(clean, raw, idx + 1)
        elif not raw or raw.isspace():
            continue
        else:
            fields = raw.split("\t")
            if _is_header(fields[0]) or _is_super_header(fields):
                continue  # the header rows, repeated on every page
            row = _slow_row(fields, raw, idx + 1, source, result, idx == last_nonblank)
        rows.append(row)
        if row.is_grand:
            _trailing_content(lines, idx, result)
            break
    if not rows:
        raise TruncatedExtractError(source, None, "the table has a header but no rows")
    return rows


def _first_header(lines: list[str], source: str) -> int:
    for idx, line in enumerate(lines):
        if _is_header(line.split("\t", 1)[0]):
            return idx
    raise UnknownLayoutError(
        source,
        None,
        "not an outcome_matrix extract: no 'Department, Root Cause and Issue types' header row",
    )


def _preamble(lines: list[str], result: ParsedExtract) -> None:
    """The title and any period it states; the 'Outcomes' super-header is skipped."""
    for idx, raw in enumerate(lines):
        if not raw.strip() or "\t" in raw:
            continue
        if result.title is None:
            result.title = squash(raw)
            result.title_line = idx + 1
        if result.stated_period is None:
            period = find_period(raw)
            if period is not None:
                result.stated_period = period
                result.stated_period_line = idx + 1


def _clean_row(clean: re.Match[str], raw: str, lineno: int) -> _Row:
    cells = clean.group(2)[1:].split("\t")
    try:
        values = list(map(_SMALL_INT.__getitem__, cells))
    except KeyError:
        values = [int(v) if v else 0 for v in cells]
    name = clean.group(1)
    # "&" may start an entity ("&amp;"): such names take the slow path's clean-up.
    name = strip_tags(name) if "&" in name else " ".join(name.split())
    grand = name[:1] in "GgTt" and _is_grand_name(name)
    return _Row(lineno, raw, name, values, True, grand)


def _slow_row(
    fields: list[str], raw: str, lineno: int, source: str, result: ParsedExtract, is_last: bool
) -> _Row:
    if len(fields) == 1:
        if is_last:
            raise TruncatedExtractError(
                source, lineno, f"file ends mid-row: {raw.strip()[:60]!r} has no number cells"
            )
        raise MalformedRowError(
            source, lineno, "expected a name and six tab-separated number cells, found no tab"
        )
    return _read_row(fields, raw, lineno, source, result, is_last)


def _trailing_content(lines: list[str], grand_idx: int, result: ParsedExtract) -> None:
    """Text after the Grand Total row (another table, a note) is reported, never read as rows."""
    after = [i for i in range(grand_idx + 1, len(lines)) if lines[i].strip()]
    if not after:
        return
    first, last = after[0] + 1, after[-1] + 1
    result.trailing_lines = (first, last)
    sample = squash(lines[after[0]].replace("\t", " "))[:80]
    result.warnings.append(
        ParseWarning(
            first,
            f"lines {first}-{last} come after the Grand Total row (line {grand_idx + 1}) and are "
            f"not part of the table; not read as rows (first: {sample!r})",
        )
    )


def _read_row(
    fields: list[str], raw: str, lineno: int, source: str, result: ParsedExtract, is_last: bool
) -> _Row:
    name = strip_tags(fields[0])
    cells = fields[1:]
    while len(cells) > 6 and not cells[-1].strip():
        cells.pop()
    if len(cells) == 7 and name and _is_name_tail(cells[0]):
        # The wrapped tail of the name in a cell of its own, the six numbers after it.
        name = _rejoin(name, fields[0], cells[0], raw, lineno, result, "a cell of its own")
        cells = cells[1:]
    if len(cells) != 6:
        if len(cells) < 6 and is_last:
            raise TruncatedExtractError(
                source, lineno, f"file ends mid-row: {len(cells)} of 6 number cells"
            )
        raise MalformedRowError(
            source, lineno, f"expected 6 number cells after the name, found {len(cells)}"
        )
    values: list[int] = []
    for pos, cell in enumerate(cells):
        text = cell.strip()
        value = _cell_value(text, pos, raw, lineno, result)
        if value is not None:
            values.append(value)
        elif pos == 0 and name and _is_name_tail(text):
            # Line wrapping pushed the end of a long name into the withdrawn column; that cell
            # held the name's tail, so it is read as empty and the row and block arithmetic below
            # check that reading.
            name = _rejoin(name, fields[0], cell, raw, lineno, result, "the withdrawn column")
            values.append(0)
        else:
            raise MalformedRowError(
                source,
                lineno,
                f"{MEASURES[pos]} cell {text!r} is not a number or a known stray token",
            )
    has_total = bool(cells[5].strip()) and not _is_stray(cells[5].strip())
    return _Row(lineno, raw, name, values, has_total, _is_grand_name(name))


def _cell_value(text: str, pos: int, raw: str, lineno: int, result: ParsedExtract) -> int | None:
    """A number cell's value: empty and stray tokens read as 0 (the latter recorded); None when
    the cell holds something else."""
    if not text:
        return 0
    if _NUMBER.match(text):
        return int(text.replace(",", ""))
    if not _is_stray(text):
        return None
    result.repairs.append(
        Repair(
            line=lineno,
            kind="stray_token_cleared",
            raw_text=raw,
            before=text,
            after="",
            reason=f"stray token in the {MEASURES[pos]} cell (bullet, underscore, markup "
            "or a lone letter left by the PDF extraction) read as an empty cell",
        )
    )
    return 0


def _is_stray(text: str) -> bool:
    plain = strip_tags(text)
    return bool(_ONLY_PUNCT.match(plain) or _LONE_LETTER.match(plain))


def _is_name_tail(cell: str) -> bool:
    plain = strip_tags(cell)
    return bool(plain) and bool(re.search(r"[A-Za-z]{2}|[A-Za-z].*\W", plain))


def _rejoin(
    name: str,
    name_cell: str,
    tail_cell: str,
    raw: str,
    lineno: int,
    result: ParsedExtract,
    where: str,
) -> str:
    """The name with its wrapped tail, recorded. White space on either side of the tab says the
    wrap fell between two words; with none, a lower-case tail after a letter or digit continues
    the same word."""
    tail = strip_tags(tail_cell)
    at_space = name_cell[-1:].isspace() or tail_cell[:1].isspace()
    mid_word = not at_space and name[-1].isalnum() and tail[0].islower()
    joined = name + ("" if mid_word else " ") + tail
    result.repairs.append(
        Repair(
            line=lineno,
            kind="name_rejoined",
            raw_text=raw,
            before=f"{name!r} | {tail!r}",
            after=joined,
            reason=f"name split across a tab by line wrapping; its tail sat in {where}"
            + (", which is read as empty" if where == "the withdrawn column" else ""),
        )
    )
    return joined


# --- hierarchy --------------------------------------------------------------------------------


def _is_grand_name(name: str) -> bool:
    return name.lower().replace(" ", "") in ("grandtotal", "total")


def _is_grand_total(row: _Row) -> bool:
    return row.is_grand


def _is_noise(row: _Row) -> bool:
    return not row.name and not row.has_total


def _recover_hierarchy(
    rows: list[_Row], source: str
) -> tuple[list[tuple[_Row, list[_Block]]], _Row]:
    departments: list[tuple[_Row, list[_Block]]] = []
    i, n = 0, len(rows)
    while True:
        if i >= n:
            last = rows[-1].line
            raise TruncatedExtractError(
                source, last, "file ends mid-table: no Grand Total row after the last department"
            )
        row = rows[i]
        if _is_grand_total(row):
            return departments, row
        try:
            blocks, k = _department(rows, i, source)
        except UnreconcilableBlockError as exc:
            raise _blame(exc, rows, i, source) from None
        departments.append((row, blocks))
        i = k


def _department(rows: list[_Row], i: int, source: str) -> tuple[list[_Block], int]:
    """The root-cause blocks of the department row at `i`, and the index after them."""
    row = rows[i]
    _require_parent(row, "department", source)
    blocks: list[_Block] = []
    acc, k = 0, i + 1
    while acc < row.total:
        rc = _row_at(rows, k, row, "department", acc, source)
        _require_parent(rc, "root cause", source)
        block, k = _take_children(rows, k, source)
        blocks.append(block)
        acc += rc.total
    if acc != row.total:
        raise UnreconcilableBlockError(
            source,
            row.line,
            f"root-cause rows under department {row.name!r} add up to {acc}, more than its "
            f"stated total {row.total}: no split of the rows reconciles",
        )
    return blocks, k


_MAX_BLAME_CANDIDATES = 64


def _blame(
    exc: UnreconcilableBlockError, rows: list[_Row], i: int, source: str
) -> UnreconcilableBlockError:
    """Name the row that breaks a department's arithmetic when the arithmetic can tell.

    A row whose own cells disagree with its total is a suspect; it is named when reading its total
    as the sum of its cells makes the whole department reconcile. Otherwise the error names the
    department and its first rows, as found."""
    suspects = [r for r in rows[i:] if r.has_total and not r.is_grand and r.outcome_sum != r.total]
    culprits: list[tuple[_Row, int]] = []
    for row in suspects[:_MAX_BLAME_CANDIDATES]:
        stated = row.values[5]
        row.values[5] = row.outcome_sum
        try:
            _department(rows, i, source)
            culprits.append((row, stated))
        except (UnreconcilableBlockError, TruncatedExtractError, MalformedRowError):
            pass
        finally:
            row.values[5] = stated
    dept = rows[i]
    if len(culprits) == 1:
        row, stated = culprits[0]
        return UnreconcilableBlockError(
            source,
            row.line,
            f"row {row.name!r} states a total of {stated} but its cells add up to "
            f"{row.outcome_sum}; with {row.outcome_sum} the rows of department {dept.name!r} "
            f"(line {dept.line}) reconcile, with {stated} they cannot ({exc.reason})",
        )
    if culprits:
        lines = ", ".join(str(r.line) for r, _ in culprits)
        reason = f"{exc.reason}; any one of the rows on lines {lines} could be the changed one"
        return UnreconcilableBlockError(source, exc.line, reason)
    return UnreconcilableBlockError(
        source,
        exc.line,
        f"{exc.reason} (department {dept.name!r} starts on line {dept.line}; no single row's "
        "total can be told wrong by the arithmetic)",
    )


def _row_at(rows: list[_Row], k: int, parent: _Row, level: str, acc: int, source: str) -> _Row:
    if k >= len(rows):
        raise TruncatedExtractError(
            source,
            rows[-1].line,
            f"file ends mid-table inside {level} {parent.name!r} (line {parent.line}): its rows "
            f"add up to {acc} of the stated {parent.total}",
        )
    row = rows[k]
    if _is_grand_total(row):
        raise UnreconcilableBlockError(
            source,
            parent.line,
            f"rows under {level} {parent.name!r} add up to {acc} when the Grand Total row "
            f"(line {row.line}) is reached; its stated total is {parent.total}",
        )
    return row


def _require_parent(row: _Row, level: str, source: str) -> None:
    if not row.name:
        raise UnreconcilableBlockError(
            source,
            row.line,
            f"a {level} row is expected here by the arithmetic, but it has no name",
        )
    if not row.has_total:
        raise MalformedRowError(source, row.line, f"{level} row {row.name!r} has no total cell")


def _take_children(rows: list[_Row], k: int, source: str) -> tuple[_Block, int]:
    parent = rows[k]
    block = _Block(parent=parent, children=[], noise=[])
    children, noise = block.children, block.noise
    acc, k, n, target = 0, k + 1, len(rows), parent.values[5]
    while acc < target:
        if k >= n or rows[k].is_grand:
            _row_at(rows, k, parent, "root cause", acc, source)  # raises the right error
        row = rows[k]
        k += 1
        if not row.has_total:
            if not row.name:
                noise.append(row)
                continue
            raise MalformedRowError(source, row.line, f"row {row.name!r} has no total cell")
        children.append(row)
        acc += row.values[5]
    if acc != parent.total:
        raise UnreconcilableBlockError(
            source,
            parent.line,
            f"issue-type rows under root cause {parent.name!r} add up to {acc}, more than its "
            f"stated total {parent.total}: no split of the rows reconciles",
        )
    # A nameless, totalless row right after a block belongs to no subtotal: keep it with the
    # block so the arithmetic can decide whether to drop it.
    while k < len(rows) and _is_noise(rows[k]):
        block.noise.append(rows[k])
        k += 1
    return block, k


# --- repairs ----------------------------------------------------------------------------------


def _column_sums(rows: list[_Row]) -> list[int]:
    if not rows:
        return [0] * 6
    return [sum(col) for col in zip(*(r.values for r in rows), strict=True)]


def _single_cell_fixes(row: _Row) -> list[tuple[int, int]]:
    """(column, new value) pairs that make the row's cells add up to its own total."""
    excess = row.outcome_sum - row.total
    return [(j, row.values[j] - excess) for j in range(5) if row.values[j] - excess >= 0]


_Solution = tuple[tuple[bool, ...], tuple[tuple[int, int], ...]]


def _reconcile_block(block: _Block, result: ParsedExtract) -> None:
    parent = block.parent
    inconsistent = [
        c for c in block.children if (v := c.values)[0] + v[1] + v[2] + v[3] + v[4] != v[5]
    ]
    sums = _column_sums(block.children)
    diffs = [sums[j] - parent.values[j] for j in range(5)]
    if not inconsistent and not block.noise and not any(diffs):
        block.sums = sums
        return

    solutions = _repair_solutions(block, inconsistent, diffs)
    scope = f"{parent.name} (line {parent.line})"
    if len(solutions) != 1:
        what = "no" if not solutions else f"{len(solutions)} different"
        result.warnings.append(
            ParseWarning(
                parent.line,
                f"root cause {scope}: its rows do not reconcile with the subtotal and {what} "
                "repair(s) would reconcile them; values left as stated",
            )
        )
        # Nameless rows with no total belong to no subtotal whatever the repair; report them.
        return

    keeps, fixes = solutions[0]
    _settle_noise_rows(block, keeps, scope, result)
    _fix_cells(inconsistent, fixes, scope, result)


def _repair_solutions(block: _Block, inconsistent: list[_Row], diffs: list[int]) -> list[_Solution]:
    """Every combination of keeping/dropping nameless rows and single-cell fixes of inconsistent
    rows that makes each outcome column add up to the subtotal (none when there are too many)."""
    noise_options = [(False, True) for _ in block.noise]  # keep?, drop
    fix_options = [_single_cell_fixes(r) for r in inconsistent]
    combos = 1
    for opts in (*noise_options, *fix_options):
        combos *= max(1, len(opts))
    solutions: list[_Solution] = []
    if combos > _MAX_REPAIR_COMBINATIONS or not all(fix_options):
        return solutions
    for keeps in itertools.product(*noise_options):
        for fixes in itertools.product(*fix_options):
            total_diff = list(diffs)
            for row, (col, new) in zip(inconsistent, fixes, strict=True):
                total_diff[col] += new - row.values[col]
            for row, keep in zip(block.noise, keeps, strict=True):
                if keep:
                    for j in range(5):
                        total_diff[j] += row.values[j]
            if not any(total_diff):
                solutions.append((keeps, fixes))
    return solutions


def _settle_noise_rows(
    block: _Block, keeps: tuple[bool, ...], scope: str, result: ParsedExtract
) -> None:
    """Keep (as an unnamed row with its total) or drop each nameless row, recording why."""
    for row, keep in zip(block.noise, keeps, strict=True):
        if keep:
            before = row.fmt()
            row.values[5] = row.outcome_sum
            row.has_total = True
            row.name = UNNAMED_ROW
            block.children.append(row)
            result.repairs.append(
                Repair(
                    line=row.line,
                    kind="value_repaired",
                    raw_text=row.raw,
                    before=before,
                    after=row.fmt(),
                    reason=f"row has no name or total, but the {scope} subtotal only reconciles "
                    "with its cells included; total set to the sum of its cells",
                )
            )
        else:
            result.repairs.append(
                Repair(
                    line=row.line,
                    kind="row_dropped",
                    raw_text=row.raw,
                    before=row.fmt(),
                    after="",
                    reason=f"row has no name and no total, and the arithmetic of root cause "
                    f"{scope} reconciles only without it: it belongs to no subtotal",
                )
            )
    block.children.sort(key=lambda r: r.line)


def _fix_cells(
    inconsistent: list[_Row],
    fixes: tuple[tuple[int, int], ...],
    scope: str,
    result: ParsedExtract,
) -> None:
    """Apply the one single-cell change per inconsistent row that the arithmetic proved."""
    for row, (col, new) in zip(inconsistent, fixes, strict=True):
        before = row.fmt()
        old = row.values[col]
        row.values[col] = new
        result.repairs.append(
            Repair(
                line=row.line,
                kind="value_repaired",
                raw_text=row.raw,
                before=before,
                after=row.fmt(),
                reason=f"row cells added up to {row.total + old - new} but its total is "
                f"{row.total}; setting {MEASURES[col]} {old} -> {new} is the only single-cell "
                f"change that makes both the row and every outcome column of root cause {scope} "
                "add up",
            )
        )


# --- output -----------------------------------------------------------------------------------


def _subtotal(row: _Row, level: str, dept: str | None, rc: str | None) -> Subtotal:
    v = row.values
    return Subtotal(
        line=row.line,
        level=level,  # type: ignore[arg-type]
        department=dept,
        root_cause=rc,
        withdrawn=v[0],
        not_upheld=v[1],
        partly_upheld=v[2],
        rejected=v[3],
        upheld=v[4],
        total=v[5],
    )


def _emit(departments: list[tuple[_Row, list[_Block]]], grand: _Row, result: ParsedExtract) -> None:
    ordinal = 0
    append = result.outcome_rows.append
    # Every row's own total is checked; only a failing one becomes a control-total record (the
    # number checked is kept), so the report stays readable and the parser fast.
    to_check: list[tuple[_Row, str]] = [(grand, GRAND_TOTAL)]
    dropped = {r.line for r in result.repairs if r.kind == "row_dropped"}
    for dept, blocks in departments:
        dname = dept.name
        result.subtotals.append(_subtotal(dept, LEVEL_DEPARTMENT, dname, None))
        to_check.append((dept, dname))
        for block in blocks:
            rc = block.parent
            rcname = rc.name
            result.subtotals.append(_subtotal(rc, LEVEL_ROOT_CAUSE, dname, rcname))
            rc_scope = root_cause_scope(dname, rcname)
            to_check.append((rc, rc_scope))
            for child in block.children:
                ordinal += 1
                v = child.values
                if not child.name:
                    result.warnings.append(
                        ParseWarning(
                            child.line, f"issue-type row has no name; kept as {UNNAMED_ROW!r}"
                        )
                    )
                append(
                    OutcomeRow(
                        line=child.line,
                        department=dname,
                        root_cause=rcname,
                        issue_type=child.name or UNNAMED_ROW,
                        ordinal=ordinal,
                        withdrawn=v[0],
                        not_upheld=v[1],
                        partly_upheld=v[2],
                        rejected=v[3],
                        upheld=v[4],
                        total=v[5],
                    )
                )
                result.rows_checked += 1
                if v[0] + v[1] + v[2] + v[3] + v[4] != v[5]:
                    result.control_totals.append(
                        _row_failure(child, row_scope(dname, rcname, child.name))
                    )
            for row in block.noise:
                if row.line not in dropped:
                    result.warnings.append(
                        ParseWarning(row.line, f"nameless row without a total ignored: {row.raw!r}")
                    )
            _compare(result, LEVEL_ROOT_CAUSE, rc_scope, rc, block.children, block.sums)
        _compare(result, LEVEL_DEPARTMENT, dname, dept, [b.parent for b in blocks])
    result.subtotals.append(_subtotal(grand, LEVEL_GRAND_TOTAL, None, None))
    _compare(result, LEVEL_GRAND_TOTAL, GRAND_TOTAL, grand, [d for d, _ in departments])
    for row, scope in to_check:
        result.rows_checked += 1
        if row.outcome_sum != row.total:
            result.control_totals.append(_row_failure(row, scope))


def _row_failure(row: _Row, scope: str) -> ControlTotal:
    return ControlTotal(
        level=LEVEL_ROW,
        scope=scope,
        measure=TOTAL_MEASURE,
        line=row.line,
        stated=row.total,
        computed=row.outcome_sum,
        status=STATUS_FAILED,
        explanation="the row's outcome cells do not add up to its own total",
    )


def _compare(
    result: ParsedExtract,
    level: str,
    scope: str,
    parent: _Row,
    kids: list[_Row],
    computed: list[int] | None = None,
) -> None:
    computed = computed if computed is not None else _column_sums(kids)
    diff = [c - s for c, s in zip(computed, parent.values, strict=True)]
    explanation = None
    if any(diff):
        explanation = explain_by_single_child(
            diff, [(k.name, k.line, k.values) for k in kids], child_level=_CHILD[level]
        )
    for j, measure in enumerate(MEASURES):
        ok = diff[j] == 0
        result.control_totals.append(
            ControlTotal(
                level=level,
                scope=scope,
                measure=measure,
                line=parent.line,
                stated=parent.values[j],
                computed=computed[j],
                status=STATUS_OK if ok else STATUS_FAILED,
                explanation=None if ok else explanation,
            )
        )


_CHILD = {
    LEVEL_ROOT_CAUSE: "issue type",
    LEVEL_DEPARTMENT: "root cause",
    LEVEL_GRAND_TOTAL: "department",
}
