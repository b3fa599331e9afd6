"""The services' settings of the garbage collector."""

import gc

import pytest

from shared.collector import (
    MIDDLE_THRESHOLD,
    OLD_THRESHOLD,
    YOUNG_THRESHOLD,
    tune_garbage_collector,
)


@pytest.fixture
def collector_restored():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_start_up_objects_frozen(collector_restored):
    loaded = ["a list the collector tracks"]
    gc.unfreeze()
    assert any(loaded is found for found in gc.get_objects())

    tune_garbage_collector()

    assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    assert gc.get_freeze_count() > 0
    assert not any(loaded is found for found in gc.get_objects())
