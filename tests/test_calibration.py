"""Calibration as a user reads it: ``val_ece`` per epoch and ``test_ece`` in MLflow for every
multiclass run (also a technique's stages and what it evaluates itself), and the number
itself: 10 equal-width confidence bins, |accuracy - confidence| weighted by bin size."""

from __future__ import annotations

import numpy as np
import pytest

from test_trainer import SHORT, logged
from tfexp.calibration import CalibrationBins, expected_calibration_error
from tfexp.testing import tiny_run


def test_ece_is_the_binned_gap_between_confidence_and_accuracy():
    # Bin [0.9, 1.0]: confidences 0.95, 0.95, 1.0 with 2 of 3 right; bin [0.6, 0.7): 0.6, wrong.
    probabilities = np.array([[0.95, 0.05], [0.05, 0.95], [1.0, 0.0], [0.4, 0.6]])
    labels = np.array([0, 1, 1, 0])
    expected = 3 / 4 * abs((0.95 + 0.95 + 1.0) / 3 - 2 / 3) + 1 / 4 * abs(0.6 - 0)
    assert expected_calibration_error(probabilities, labels) == pytest.approx(expected)
    # Streaming in batches gives the same number as one pass.
    tally = CalibrationBins()
    for rows in (slice(0, 1), slice(1, 4)):
        tally.add(probabilities[rows], labels[rows])
    assert tally.error() == pytest.approx(expected)


def test_every_multiclass_run_logs_val_ece_per_epoch_and_test_ece(tmp_path):
    run = tiny_run(tmp_path, [*SHORT, "debug.trainer.epochs=2"])
    val_ece = logged(tmp_path, run, "val_ece")
    assert len(val_ece) == 2 and all(0 <= v <= 1 for v in val_ece)
    assert 0 <= logged(tmp_path, run, "test_ece")[0] <= 1


def test_distill_stages_and_the_teacher_evaluation_log_ece(tmp_path):
    run = tiny_run(tmp_path, ["+experiment=distill", *SHORT, "debug.trainer.epochs=1"])
    for key in ("teacher/val_ece", "student/val_ece", "teacher/test_ece", "test_ece"):
        assert len(logged(tmp_path, run, key)) == 1, key
