"""The landing-folder sensor's plan (pure part): what is pending, what is removed, and how the
partitions are arranged so that one run's range is exactly the pending extracts."""

from orchestration.defs.ingest.sensors import _contiguous, plan_changes


def test_unchanged_folder_plans_nothing() -> None:
    plan = plan_changes({"a": "h1", "b": "h2"}, {"a": "h1", "b": "h2"}, ["a", "b"])
    assert (plan.pending, plan.removed, plan.changes_partitions) == ([], [], False)


def test_loaded_elsewhere_gets_partitions_but_no_run() -> None:
    # A warehouse built through another Dagster instance: nothing pending, partitions added.
    plan = plan_changes({"a": "h1", "b": "h2"}, {"a": "h1", "b": "h2"}, [])
    assert (plan.pending, plan.add_partitions, plan.delete_partitions) == ([], ["a", "b"], [])


def test_new_changed_and_removed_in_one_plan() -> None:
    fingerprints = {"a": "h1", "b": "h2-new", "c": "h3", "e": "h5"}
    held = {"a": "h1", "b": "h2", "d": "h4", "e": "h5"}
    plan = plan_changes(fingerprints, held, existing=["a", "b", "d", "e"])
    assert plan.pending == ["b", "c"]
    assert plan.removed == ["d"]
    # b is moved behind e so that b..c is one range holding exactly the pending extracts.
    assert plan.delete_partitions == ["d", "b"]
    assert plan.add_partitions == ["b", "c"]
    order = [k for k in ["a", "b", "d", "e"] if k not in plan.delete_partitions]
    order += plan.add_partitions
    assert order[order.index("b") : order.index("c") + 1] == ["b", "c"]


def test_pending_range_already_contiguous_is_kept() -> None:
    # A failed run's partitions (never loaded): still the last ones, nothing to move.
    plan = plan_changes({"a": "h1", "b": "h2", "c": "h3"}, {"a": "h1"}, ["a", "b", "c"])
    assert plan.pending == ["b", "c"]
    assert (plan.delete_partitions, plan.add_partitions) == ([], [])


def test_removed_only_from_the_warehouse_or_the_instance() -> None:
    plan = plan_changes({"a": "h1"}, {"a": "h1", "x": "h9"}, ["a", "y"])
    assert plan.removed == ["x", "y"]
    assert plan.delete_partitions == ["y"]  # x has no partition to delete


def test_contiguous() -> None:
    assert _contiguous(["b", "c"], ["a", "b", "c"])
    assert not _contiguous(["c", "b"], ["a", "b", "c"])
    assert not _contiguous(["a", "c"], ["a", "b", "c"])
    assert not _contiguous(["z"], ["a"])
    assert not _contiguous([], ["a"])
