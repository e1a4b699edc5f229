"""A failed dbt build's reason in the run summary: dagster-dbt's error (its command, dbt's error
lines, a Python traceback when dbt itself crashed) condensed to what the reader needs."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.lib.failure_reasons import condense_dbt, step_failure_reason

# dagster-dbt's message when dbt ran out of disk space in the warehouse (as a run printed it:
# the result lines of failed nodes, dbt's reason, then dbt's own traceback).
RESULTS = "\n\n".join(
    f"{n} of 149 ERROR creating sql view model main.stg_raw__{name} ..... [ERROR in 0.07s]"
    for n, name in [(4, "control_totals"), (5, "coverage"), (6, "extracts")]
)
DBT_FAILED = (
    "The dbt CLI process with command\n\n"
    "`/venv/bin/complaints-dbt build --complaints-workdir /w --select fqn:*`\n\n"
    "failed with exit code `2`. Check the stdout in the Dagster compute logs for the full "
    "information about the error, or view the dbt debug log: /w/dbt_target/dbt.log.\n\n"
    "Errors parsed from dbt logs:\n\n"
    f"{RESULTS}\n\n"
    "Encountered an error:\n[Errno 28] No space left on device\n\n"
    "Traceback (most recent call last):\n"
    '  File "/venv/lib/python3.11/site-packages/dbt/cli/requires.py", line 187, in wrapper\n'
    "    result, success = func(*args, **kwargs)\n"
    "OSError: [Errno 28] No space left on device"
)


@dataclass
class Error:
    """The fields of Dagster's serialised error the summary reads."""

    message: str
    cls_name: str | None
    cause: Error | None = None
    context: Error | None = None


def test_a_failed_dbt_build_is_a_few_facts_and_no_traceback() -> None:
    text = condense_dbt(DBT_FAILED)
    print(text)
    assert text.startswith("dbt build failed (exit code 2); 3 node(s) in error, the first: ")
    assert "4 of 149 ERROR creating sql view model main.stg_raw__control_totals [ERROR" in text
    assert "Encountered an error: [Errno 28] No space left on device" in text
    assert text.endswith("dbt's log: /w/dbt_target/dbt.log")
    assert "Traceback" not in text and "File " not in text and "complaints-dbt build" not in text


def test_the_reason_is_below_dagsters_wrapper_with_its_root_cause() -> None:
    root = Error(
        "OSError: [Errno 30] Read-only file system: '/w/exports.versions/.x.partial'", "OSError"
    )
    ours = Error(
        "complaints.exports.ExportsError: cannot write the exports in /w/exports.versions",
        "ExportsError",
        cause=root,
    )
    wrapper = Error(
        'dagster._core.errors.DagsterExecutionStepExecutionError: Error occurred while executing op "published_marts":\n',
        "DagsterExecutionStepExecutionError",
        cause=ours,
    )
    assert step_failure_reason(wrapper) == (
        "cannot write the exports in /w/exports.versions (cause: [Errno 30] Read-only file "
        "system: '/w/exports.versions/.x.partial')"
    )
    # A root cause the reason already says is not repeated.
    ours.message = (
        "complaints.exports.ExportsError: cannot write: " + root.message.split(": ", 1)[1]
    )
    assert step_failure_reason(wrapper) == "cannot write: " + root.message.split(": ", 1)[1]
    dbt = Error(
        f"dagster_dbt.errors.DagsterDbtCliRuntimeError: {DBT_FAILED}", "DagsterDbtCliRuntimeError"
    )
    assert step_failure_reason(Error("Error occurred while executing op", "X", cause=dbt)) == (
        condense_dbt(DBT_FAILED)
    )
    assert step_failure_reason(None) == "failed"
