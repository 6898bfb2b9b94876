"""``tfexp_on_run_error`` and ``tfexp_after_run`` run to the end whatever one plugin does;
a firstresult hook's wrong type names its plugin; SIGHUP stops a run like SIGTERM."""

from __future__ import annotations

import signal

import pytest
from mlflow import MlflowClient

from tfexp import hookimpl
from tfexp.errors import TfexpError
from tfexp.testing import store_uri, tiny_run
from test_reliability import SLOW_RUN, start_run, wait_for_epochs


class Raises:
    """Raises ``error`` from the hooks named in ``where``."""

    def __init__(self, error: BaseException, *where: str):
        self.error, self.where = error, where

    def _maybe(self, name):
        if name in self.where:
            raise self.error

    @hookimpl
    def tfexp_after_fit(self, run, model, history):
        self._maybe("after_fit")

    @hookimpl
    def tfexp_on_run_error(self, run, error):
        self._maybe("on_run_error")

    @hookimpl(tryfirst=True)
    def tfexp_after_run(self, run, status):
        self._maybe("after_run")


class AlsoRaises(Raises):
    """A second plugin of the kind (plugins register under their class name)."""


class Wraps:
    """A wrapper around ``tfexp_after_run``: runs once, around every implementation."""

    def __init__(self):
        self.seen: list[str] = []

    @hookimpl(wrapper=True)
    def tfexp_after_run(self, run, status):
        self.seen.append("before")
        try:
            return (yield)
        finally:
            self.seen.append("after")


def only_run(tmp_path):
    client = MlflowClient(store_uri(tmp_path))
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return run


def test_a_plugin_raising_in_the_always_hooks_hides_neither_the_error_nor_the_status(tmp_path):
    wraps = Wraps()
    breaks = AlsoRaises(RuntimeError("late plugin broke"), "on_run_error", "after_run")
    with pytest.raises(ValueError, match="the run's own error"):
        tiny_run(tmp_path, plugins=[Raises(ValueError("the run's own error"), "after_fit"), breaks, wraps])
    run = only_run(tmp_path)
    assert run.info.status == "FAILED"
    assert run.data.tags["tfexp.error"].startswith("ValueError: the run's own error")
    assert wraps.seen == ["before", "after"]


def test_a_plugin_raising_in_after_run_of_a_finished_run_is_reported_after_mlflow_ended_it(tmp_path):
    with pytest.raises(RuntimeError, match="late plugin broke") as raised:
        tiny_run(tmp_path, ["export.formats=[]"], plugins=[Raises(RuntimeError("late plugin broke"), "after_run")])
    assert any("tfexp_after_run" in note for note in raised.value.__notes__)
    assert only_run(tmp_path).info.status == "FINISHED"


def test_sys_exit_0_in_a_hook_fails_the_run(tmp_path):
    with pytest.raises(TfexpError, match=r"sys.exit\(0\) called during the run"):
        tiny_run(tmp_path, plugins=[Raises(SystemExit(0), "after_fit", "after_run")])
    assert only_run(tmp_path).info.status == "FAILED"


@pytest.mark.slow
def test_sighup_stops_the_run_as_killed_and_resumable(tmp_path):
    proc = start_run(tmp_path, SLOW_RUN)
    run_id = wait_for_epochs(tmp_path, proc, 2)
    proc.send_signal(signal.SIGHUP)
    assert proc.wait(timeout=120) == 143, proc.stderr.read()
    run = MlflowClient(store_uri(tmp_path)).get_run(run_id)
    assert run.info.status == "KILLED" and "tfexp.resumable" in run.data.tags


class ReturnsWrongTypes:
    @hookimpl
    def tfexp_evaluate(self, run, model, data):
        return [0.5]


def test_a_firstresult_hook_returning_the_wrong_type_names_the_plugin_and_the_type(tmp_path):
    with pytest.raises(TypeError, match=r"plugin ReturnsWrongTypes returned a list from tfexp_evaluate, expected a collections.abc.Mapping"):
        tiny_run(tmp_path, plugins=[ReturnsWrongTypes()])
    assert only_run(tmp_path).info.status == "FAILED"
