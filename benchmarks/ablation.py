"""Paired measurements of the seed run (`benchmarks/run.py --ablate`).

Each speed-shaping construct of the product is measured by its absence: a copy of this checkout
with that one construct taken out (a textual edit of the copy, or its prepared dbt parse removed)
runs the seed extracts beside an unmodified copy, in rounds. Every round runs the unmodified copy,
every ablated copy and a bare `dbt build` of the same models on the same raw tables, in an order
rotated from round to round, so a slow minute of a shared machine falls on every variant alike.
Each variant's figure is the median over the rounds, and each construct's gain is the median of
its per-round paired differences with the unmodified copy of the same round.

CPU time (user + system of the run and of every process it waited for, dbt included) is the
figure for constructs that save work; wall time for those that overlap work (they save no CPU).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

MIN_GAIN = 0.05
"""A construct that saves less than this share of the seed run without it does not earn its place."""


@dataclass(frozen=True)
class Edit:
    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Construct:
    name: str
    where: str
    what: str
    measure: str
    """'cpu' (it saves work) or 'wall' (it overlaps work)."""
    edits: tuple[Edit, ...] = ()
    drop_saved_parse: bool = False


CONSTRUCTS: tuple[Construct, ...] = (
    Construct(
        "pooled_event_log",
        "orchestration/lib/dagster_compat.py",
        "one SQLite engine and connection per event-log shard, events written in batches",
        "cpu",
        (
            Edit(
                "orchestration/lib/dagster_compat.py",
                "    problem = pooled_event_log_problem()\n    if problem is not None:\n"
                "        _warn_once(problem)\n",
                "    problem = 'ablated'\n    if problem is not None:\n",
            ),
        ),
    ),
    Construct(
        "dbt_launcher_version",
        "complaints/dbt_launcher.py",
        "`complaints-dbt --version` answered from package metadata instead of by dbt",
        "cpu",
        (Edit("complaints/dbt_launcher.py", 'if args == ["--version"]:', "if False:"),),
    ),
    Construct(
        "gx_background_import",
        "expectations/runner.py (import_gx_in_background)",
        "Great Expectations imported on a thread while dbt runs",
        "wall",
        (
            Edit(
                "orchestration/defs/transform/assets.py",
                "        import_gx_in_background()  #",
                "        pass  #",
            ),
        ),
    ),
    Construct(
        "lineage_cache",
        "complaints/catalogue.py (LineageCache)",
        "column lineage read from a content-addressed cache instead of computed with sqlglot",
        "cpu",
        (Edit("complaints/catalogue.py", "deps = cache.get(key)", "deps = None"),),
    ),
    Construct(
        "gc_tuning",
        "cli/main.py",
        "`gc.set_threshold(700, 10, 100)` during the run and `gc.freeze()` after it",
        "cpu",
        (
            Edit("cli/main.py", "    gc.set_threshold(700, 10, 100)\n", ""),
            Edit("cli/main.py", "    gc.freeze()\n", ""),
        ),
    ),
    Construct(
        "saved_parse",
        "complaints/dbt_paths.py (prepare_dbt, dbt run in the warehouse folder)",
        "dbt reuses the prepared parse (partial parsing) instead of parsing the project",
        "cpu",
        drop_saved_parse=True,
    ),
)
REMOVED: tuple[Construct, ...] = (
    Construct(
        "dbt_without_adapter",
        "orchestration/lib/dagster_compat.py (DbtCliWithoutAdapter)",
        "dagster-dbt's in-process dbt adapter (imports, profile, plugin) not set up before dbt runs",
        "cpu",
    ),
    Construct(
        "dbt_cli_thread",
        "orchestration/defs/transform/assets.py",
        "`dbt.cli` started from a fresh thread (a shallow stack for dbt's behaviour flags)",
        "cpu",
    ),
    Construct(
        "chart_spec_unvalidated",
        "complaints/report/charts.py",
        "chart specs handed to vl-convert without altair's schema validation",
        "cpu",
    ),
)
"""Constructs the measurement removed from the code: named so that earlier tables still render."""
BY_NAME = {c.name: c for c in CONSTRUCTS}
EVERY_NAME = {c.name: c for c in (*CONSTRUCTS, *REMOVED)}


def _tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [p for p in out.split("\0") if p and (ROOT / p).is_file()]


def make_copy(dest: Path, construct: Construct | None) -> Path:
    """This checkout's files (as they are, committed or not) and its prepared dbt parse in
    `dest`, with `construct` taken out. An edit whose text is not found exactly once is an
    error naming the construct: the code moved and the ablation must follow it."""
    for rel in _tracked_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    prepared = ROOT / "dbt_project" / "target"
    if not (prepared / "manifest.json").is_file():
        raise SystemExit("no prepared dbt parse in dbt_project/target: run `make prepare` first")
    shutil.copytree(prepared, dest / "dbt_project" / "target", copy_function=shutil.copy2)
    if construct is None:
        return dest
    for edit in construct.edits:
        path = dest / edit.path
        text = path.read_text(encoding="utf-8")
        if text.count(edit.old) != 1:
            raise SystemExit(
                f"ablation {construct.name}: {edit.path} holds {edit.old!r} "
                f"{text.count(edit.old)} times, not once"
            )
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
    if construct.drop_saved_parse:
        (dest / "dbt_project" / "target" / "partial_parse.msgpack").unlink()
    return dest


@dataclass
class Sample:
    wall_s: float
    cpu_s: float


@dataclass
class Ablation:
    rounds: int = 0
    order: list[list[str]] = field(default_factory=list)
    samples: dict[str, list[Sample | None]] = field(default_factory=dict)
    """Per variant ('with all', each construct's name, 'bare dbt build'), one per round (None:
    not run in that round, when rounds of two invocations are merged)."""

    def merged(self, earlier: Ablation) -> Ablation:
        """`earlier`'s rounds followed by these."""
        variants = [*earlier.samples, *(v for v in self.samples if v not in earlier.samples)]
        return Ablation(
            rounds=earlier.rounds + self.rounds,
            order=[*earlier.order, *self.order],
            samples={
                v: [
                    *earlier.samples.get(v, [None] * earlier.rounds),
                    *self.samples.get(v, [None] * self.rounds),
                ]
                for v in variants
            },
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ablation:
        return cls(
            rounds=data["rounds"],
            order=data["order"],
            samples={
                v: [Sample(**s) if s else None for s in samples]
                for v, samples in data["samples"].items()
            },
        )


BASE = "with all"
BARE = "bare dbt build"


def measure(
    names: list[str],
    rounds: int,
    work: Path,
    seed_run: Callable[[Path, Path], Sample],
    bare_build: Callable[[Path], Sample],
    progress: Callable[[str], None] = print,
) -> Ablation:
    """`seed_run(copy, folder)` runs the seed extracts with the CLI of `copy` in a fresh warehouse
    and Dagster home under `folder`; `bare_build(folder)` a bare dbt build of the same models."""
    constructs = [BY_NAME[n] for n in names]
    copies = {BASE: make_copy(work / "copy_base", None)}
    for c in constructs:
        copies[c.name] = make_copy(work / f"copy_{c.name}", c)
    variants = [BASE, *[c.name for c in constructs], BARE]
    result = Ablation(rounds=rounds, samples={v: [] for v in variants})
    for r in range(rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        result.order.append(order)
        for variant in order:
            folder = work / f"round{r}" / variant.replace(" ", "_")
            sample = bare_build(folder) if variant == BARE else seed_run(copies[variant], folder)
            result.samples[variant].append(sample)
            progress(
                f"[ablate] round {r + 1}/{rounds} {variant}: "
                f"{sample.wall_s:.1f} s wall, {sample.cpu_s:.1f} s CPU"
            )
            shutil.rmtree(folder, ignore_errors=True)
    return result


def _value(s: Sample, measure_: str) -> float:
    return s.cpu_s if measure_ == "cpu" else s.wall_s


def pairs(result: Ablation, a: str, b: str) -> list[tuple[Sample, Sample]]:
    """The rounds in which both variants ran."""
    return [
        (x, y)
        for x, y in zip(result.samples[a], result.samples[b], strict=True)
        if x is not None and y is not None
    ]


def gain(result: Ablation, name: str, measure_: str) -> float:
    """Median over rounds of (without - with) / without: the share of the seed run without the
    construct that the construct saves."""
    return statistics.median(
        (_value(w, measure_) - _value(b, measure_)) / _value(w, measure_)
        for b, w in pairs(result, BASE, name)
    )


def render(result: Ablation) -> str:
    ran = {v: [s for s in samples if s is not None] for v, samples in result.samples.items()}
    med = {
        v: (
            statistics.median(s.wall_s for s in samples),
            statistics.median(s.cpu_s for s in samples),
        )
        for v, samples in ran.items()
        if samples
    }
    lines = [
        f"Seed run, {result.rounds} interleaved rounds; medians. CPU = user + system of the run "
        "and every process it waited for (dbt included). Gain = median of the per-round "
        "(without - with) / without on the construct's measure; a construct earns its place "
        f"at {MIN_GAIN:.0%} or more.",
        "",
        "| construct | where | measure | rounds | with: wall s / CPU s | without: wall s / CPU s "
        "| gain | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in result.samples:
        if name in (BASE, BARE):
            continue
        c = EVERY_NAME[name]
        g = gain(result, name, c.measure)
        wall, cpu = med[name]
        paired = pairs(result, BASE, name)
        base_wall = statistics.median(b.wall_s for b, _ in paired)
        base_cpu = statistics.median(b.cpu_s for b, _ in paired)
        verdict = "keep" if g >= MIN_GAIN else "**remove**"
        if name not in BY_NAME:
            verdict += " (removed since)"
        lines.append(
            f"| {c.name}: {c.what} | {c.where} | {c.measure} | {len(pairs(result, BASE, name))} | "
            f"{base_wall:.1f} / {base_cpu:.1f} | {wall:.1f} / {cpu:.1f} | {g:+.1%} | {verdict} |"
        )
    lines.append("")
    if BARE in med:
        base_wall, base_cpu = med[BASE]
        bare_wall, bare_cpu = med[BARE]
        ratios_wall = [b.wall_s / d.wall_s for b, d in pairs(result, BASE, BARE)]
        ratios_cpu = [b.cpu_s / d.cpu_s for b, d in pairs(result, BASE, BARE)]
        lines += [
            "| paired | seed run | bare `dbt build` | seed / bare (median of rounds) | target |",
            "|---|---|---|---|---|",
            f"| wall s | {base_wall:.1f} | {bare_wall:.1f} | "
            f"{statistics.median(ratios_wall):.2f} x | <= 1.5 x |",
            f"| CPU s | {base_cpu:.1f} | {bare_cpu:.1f} | "
            f"{statistics.median(ratios_cpu):.2f} x | <= 1.5 x |",
            "",
        ]
    lines.append("Every round (wall s / CPU s), in the order run:")
    lines.append("")
    for r, order in enumerate(result.order):
        cells = ", ".join(
            f"{v} {s.wall_s:.1f} / {s.cpu_s:.1f}"
            for v in order
            if (s := result.samples[v][r]) is not None
        )
        lines.append(f"- round {r + 1}: {cells}")
    return "\n".join(lines)
