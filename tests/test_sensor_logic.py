"""The landing-folder sensor's change detection (pure part)."""

from orchestration.sensors import plan_changes


def test_new_changed_removed_and_unchanged() -> None:
    fingerprints = {"a": "h1", "b": "h2-new", "c": "h3"}
    cursor = {"a": "h1", "b": "h2", "d": "h4"}
    new, changed, removed = plan_changes(fingerprints, cursor, existing=["a", "b", "d"])
    assert (new, changed, removed) == (["c"], ["b"], ["d"])
    assert plan_changes({"a": "h1"}, {"a": "h1"}, ["a"]) == ([], [], [])
