"""Explanations for control totals that do not reconcile.

A failing total is explained only when the arithmetic is exact: a single child row whose values
equal the whole difference. Several equal candidates are all named; none means no explanation.
"""

from __future__ import annotations

from collections.abc import Sequence


def explain_by_single_child(
    diff: Sequence[int],
    children: Sequence[tuple[str, int, Sequence[int]]],
    child_level: str,
) -> str | None:
    """diff = computed - stated (one value per measure); children = (name, line, values)."""
    diff = list(diff)
    sign = 1 if sum(diff) > 0 or (sum(diff) == 0 and max(diff) > 0) else -1
    magnitude = [sign * d for d in diff]
    if any(m < 0 for m in magnitude):
        return None
    matches = [(name, line) for name, line, values in children if list(values) == magnitude]
    if not matches:
        return None
    shown = "/".join(str(m) for m in magnitude)
    if sign > 0:
        verb = "the stated total appears to leave out"
    else:
        verb = "the stated total appears to count twice"
    if len(matches) == 1:
        name, line = matches[0]
        return (
            f"the difference ({shown}) equals exactly the row of {child_level} {name!r} "
            f"(line {line}): {verb} that row"
        )
    named = ", ".join(f"{name!r} (line {line})" for name, line in matches)
    return (
        f"the difference ({shown}) equals exactly the row of any one of the {child_level}s {named}"
    )


def explain_scalar(
    diff: int, children: Sequence[tuple[str, int, int]], child_level: str
) -> str | None:
    """Single-measure version: which one child's count equals the difference."""
    if diff == 0:
        return None
    return explain_by_single_child([diff], [(n, ln, [v]) for n, ln, v in children], child_level)
