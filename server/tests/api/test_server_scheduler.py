"""Batch selection from the request queue."""

from __future__ import annotations

import pytest

from voice_server.engine.queue import NORMAL, URGENT, BatchQueue, Entry, QueueFullError


def _queue(costs: list[int], max_queue: int = 100) -> BatchQueue[int]:
    queue: BatchQueue[int] = BatchQueue(max_queue)
    for index, cost in enumerate(costs):
        queue.append(Entry(item=index, cost=cost))
    return queue


def test_empty_queue_gives_empty_batch() -> None:
    assert _queue([]).next_batch(8) == []


def test_batch_is_bounded_by_size_and_keeps_order() -> None:
    queue = _queue([1] * 5)
    assert [e.item for e in queue.next_batch(3)] == [0, 1, 2]
    assert [e.item for e in queue.next_batch(3)] == [3, 4]
    assert len(queue) == 0


def test_cost_budget_stops_the_batch_and_leaves_the_rest_in_order() -> None:
    queue = _queue([4, 4, 4])
    assert [e.item for e in queue.next_batch(8, cost_budget=9)] == [0, 1]
    assert [e.item for e in queue.next_batch(8, cost_budget=9)] == [2]


def test_first_entry_is_taken_even_over_budget() -> None:
    queue = _queue([50, 1])
    assert [e.item for e in queue.next_batch(8, cost_budget=10)] == [0]


def test_cancelled_entries_are_dropped_and_counted() -> None:
    queue: BatchQueue[str] = BatchQueue(10)
    queue.append(Entry(item="gone", cancelled=lambda: True))
    queue.append(Entry(item="live"))
    queue.append(Entry(item="gone too", cancelled=lambda: True))
    assert [e.item for e in queue.next_batch(8)] == ["live"]
    assert queue.dropped == 2
    assert len(queue) == 0


def test_full_queue_refuses_and_keeps_what_it_has() -> None:
    queue = _queue([1, 1], max_queue=2)
    with pytest.raises(QueueFullError):
        queue.append(Entry(item=99))
    assert [e.item for e in queue.next_batch(8)] == [0, 1]


def test_oldest_wait_measures_the_front_entry() -> None:
    queue: BatchQueue[int] = BatchQueue(4)
    assert queue.oldest_wait_s() == 0.0
    queue.append(Entry(item=1, enqueued_at=100.0))
    queue.append(Entry(item=2, enqueued_at=105.0))
    assert queue.oldest_wait_s(now=110.0) == pytest.approx(10.0)


def test_an_urgent_entry_goes_ahead_and_equal_ranks_keep_arrival_order() -> None:
    queue: BatchQueue[str] = BatchQueue(10)
    queue.append(Entry(item="a"))
    queue.append(Entry(item="b"))
    queue.append(Entry(item="first audio", urgency=URGENT))
    queue.append(Entry(item="c"))
    queue.append(Entry(item="second first audio", urgency=URGENT))
    assert [e.item for e in queue.next_batch(8)] == ["first audio", "second first audio", "a", "b", "c"]


def test_within_a_class_the_earlier_due_time_goes_first() -> None:
    queue: BatchQueue[str] = BatchQueue(10)
    queue.append(Entry(item="arrived at 10", enqueued_at=10.0))
    queue.append(Entry(item="due at 14", enqueued_at=11.0, due=14.0))
    queue.append(Entry(item="due at 9 (listener ran dry)", enqueued_at=12.0, due=9.0))
    queue.append(Entry(item="arrived at 13", enqueued_at=13.0, urgency=NORMAL))
    assert [e.item for e in queue.next_batch(8)] == [
        "due at 9 (listener ran dry)",
        "arrived at 10",
        "arrived at 13",
        "due at 14",
    ]


def test_a_refused_front_entry_keeps_its_place_ahead_of_later_ranks() -> None:
    queue: BatchQueue[str] = BatchQueue(10)
    queue.append(Entry(item="normal"))
    queue.append(Entry(item="urgent", urgency=URGENT))
    assert queue.next_batch(8, fits=lambda item: item != "urgent") == []
    assert [e.item for e in queue.next_batch(8)] == ["urgent", "normal"]
