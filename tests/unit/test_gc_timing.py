"""Each garbage collection is timed twice: its wall-clock pause and its own CPU time."""

from __future__ import annotations

import gc
import threading

from prometheus_client.parser import text_string_to_metric_families

from server.observability.metrics import GcPauses, Metrics


def _counts(metrics: Metrics, family_name: str) -> dict[str, float]:
    """Observations per generation of a histogram family, from the rendered exposition."""
    for family in text_string_to_metric_families(metrics.render().decode()):
        if family.name == family_name:
            return {
                sample.labels["generation"]: sample.value
                for sample in family.samples
                if sample.name.endswith("_count")
            }
    return {}


def test_a_full_collection_is_timed_by_the_clock_and_by_cpu() -> None:
    metrics = Metrics(instance="test")
    timing = GcPauses(metrics)
    gc.callbacks.append(timing)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(timing)

    assert _counts(metrics, "parley_gc_pause_seconds").get("2", 0) >= 1
    assert _counts(metrics, "parley_gc_cpu_seconds").get("2", 0) >= 1


def test_time_spent_waiting_is_a_pause_but_not_collector_cpu() -> None:
    """A collection whose thread is held up (here by a callback that waits) shows a long
    pause and a short CPU time: the two histograms tell preemption from a slow collector."""
    metrics = Metrics(instance="test")
    timing = GcPauses(metrics)
    held = threading.Event()

    def hold_up(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            held.wait(0.3)  # nothing sets it: the thread sleeps, as when it waits for a core

    gc.callbacks.append(timing)
    gc.callbacks.append(hold_up)
    try:
        # The young generation: its CPU time stays far below a quarter second whatever the
        # size of the test process's heap (a full collection of the whole suite's does not).
        gc.collect(0)
    finally:
        gc.callbacks.remove(hold_up)
        gc.callbacks.remove(timing)

    pause = _bucket_over(metrics, "parley_gc_pause_seconds", 0.25)
    cpu = _bucket_over(metrics, "parley_gc_cpu_seconds", 0.25)
    assert (pause, cpu) == (1, 0)


def _bucket_over(metrics: Metrics, family_name: str, bound: float) -> int:
    """How many observations of the young generation were above `bound` seconds."""
    count = under = 0.0
    for family in text_string_to_metric_families(metrics.render().decode()):
        if family.name != family_name:
            continue
        for sample in family.samples:
            if sample.labels.get("generation") != "0":
                continue
            if sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_bucket") and float(sample.labels["le"]) == bound:
                under = sample.value
    return int(count - under)
