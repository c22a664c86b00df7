"""Prometheus metrics of one Parley process, in a registry of its own, labelled by instance."""

from __future__ import annotations

import functools
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# Seconds: from sub-millisecond (a local delivery) to minutes (a wait in line).
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SLOW = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
# Event-loop lag: finer between 50 ms and a second, where a live conversation starts to stall.
_LAG = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0)
_MODEL = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 60.0)

Gauges = Callable[[], Iterable[tuple[tuple[str, ...], float]]]


@functools.lru_cache(maxsize=1024)
def labelled(counter: Counter, *values: str) -> Counter:
    """`counter.labels(*values)`, looked up once: `labels` validates and locks on every call
    (about 3 µs), which the per-message counters paid per message."""
    return counter.labels(*values)


def default_instance() -> str:
    """host:pid, so that each process of a deployment tells its own series apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


class _Live(Collector):
    """Gauges read from live state at scrape time (connections, pools, backlogs)."""

    def __init__(self) -> None:
        self._sources: list[tuple[str, str, tuple[str, ...], Gauges]] = []

    def add(self, name: str, doc: str, labels: tuple[str, ...], read: Gauges) -> None:
        self._sources.append((name, doc, labels, read))

    def collect(self) -> Iterator[Metric]:
        for name, doc, labels, read in self._sources:
            family = GaugeMetricFamily(name, doc, labels=list(labels))
            for values, value in read():
                family.add_metric(list(values), value)
            yield family


class _Instance(Collector):
    """Adds instance="…" to every sample of the process's metrics."""

    def __init__(self, inner: CollectorRegistry, instance: str) -> None:
        self._inner = inner
        self._instance = instance

    def collect(self) -> Iterator[Metric]:
        for family in self._inner.collect():
            family.samples = [
                sample._replace(labels={**sample.labels, "instance": self._instance})
                for sample in family.samples
            ]
            yield family


class Metrics:
    """Every metric Parley exports. Built per application: two apps never share a series."""

    def __init__(self, instance: str | None = None) -> None:
        self.instance = instance or default_instance()
        inner = CollectorRegistry(auto_describe=True)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Instance(inner, self.instance))
        self.live = _Live()
        inner.register(self.live)
        r = inner
        self.messages_posted = Counter(
            "parley_messages_posted", "Messages stored, by sender", ["sender"], registry=r
        )
        self.messages_delivered = Counter(
            "parley_messages_delivered",
            "Messages handed to a local socket, by namespace",
            ["namespace"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "parley_message_delivery_seconds",
            "From a message's commit to its delivery to a local socket",
            buckets=_FAST,
            registry=r,
        )
        self.acks = Counter(
            "parley_socket_acks",
            "Socket acknowledgements, by event and code (ok for success)",
            ["event", "code"],
            registry=r,
        )
        self.queue_length = Gauge(
            "parley_queue_length", "Conversations waiting, per team", ["team"], registry=r
        )
        self.queue_wait = Histogram(
            "parley_queue_wait_seconds",
            "Time in line before an agent got the conversation, per team",
            ["team"],
            buckets=_SLOW,
            registry=r,
        )
        self.assignments = Counter(
            "parley_assignments", "Conversations given to an agent, by kind", ["kind"], registry=r
        )
        self.requeues = Counter(
            "parley_requeues", "Conversations sent back in line, by reason", ["reason"], registry=r
        )
        self.assistant = Counter(
            "parley_assistant_outcomes",
            "Assistant results: answered, declined, handed_over",
            ["outcome"],
            registry=r,
        )
        self.model_latency = Histogram(
            "parley_model_seconds",
            "One language-model call, end to end",
            buckets=_MODEL,
            registry=r,
        )
        self.model_tokens = Counter(
            "parley_model_tokens", "Tokens used by the language model", ["kind"], registry=r
        )
        self.loop_lag = Histogram(
            "parley_event_loop_lag_seconds",
            "How late the event loop runs a timer (time it was busy elsewhere)",
            buckets=_LAG,
            registry=r,
        )
        self.gc_pause = Histogram(
            "parley_gc_pause_seconds",
            "Garbage collector pauses, by generation",
            ["generation"],
            buckets=_FAST,
            registry=r,
        )
        self.gc_cpu = Histogram(
            "parley_gc_cpu_seconds",
            "CPU time of each garbage collection, by generation",
            ["generation"],
            buckets=_FAST,
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def delivered(self, namespace: str, created_at: object) -> None:
        self.messages_delivered.labels(namespace).inc()
        if isinstance(created_at, str):
            try:
                sent = datetime.fromisoformat(created_at)
            except ValueError:
                return
            self.delivery_latency.observe(max(0.0, (datetime.now(UTC) - sent).total_seconds()))

    def wait_in_line(
        self, team: str, queued_at: datetime | None, assigned_at: datetime | None
    ) -> None:
        if queued_at is not None:
            waited = ((assigned_at or datetime.now(UTC)) - queued_at).total_seconds()
            self.queue_wait.labels(team).observe(max(0.0, waited))

    def model_call(self, seconds: float, prompt_tokens: int, completion_tokens: int) -> None:
        self.model_latency.observe(seconds)
        self.model_tokens.labels("prompt").inc(prompt_tokens)
        self.model_tokens.labels("completion").inc(completion_tokens)


class GcPauses:
    """Times each collection through gc.callbacks (process-wide: add and remove with the app).

    Both the wall-clock pause and the thread's CPU time: on a busy machine a pause can last
    far longer than the collector's work, while the process waits for a core, and only the
    second says whether the collector itself was slow."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._started = 0.0
        self._cpu_started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            self._cpu_started = time.thread_time()
        elif self._started:
            pause = time.perf_counter() - self._started
            cpu = time.thread_time() - self._cpu_started
            generation = str(info.get("generation", ""))
            self._metrics.gc_pause.labels(generation).observe(pause)
            self._metrics.gc_cpu.labels(generation).observe(cpu)
