"""scripts/bench_train.py's pure parts: the turns the contenders take, the medians of paired
rounds and the FLOP arithmetic. Nothing here is timed: turns of 0 s end at every tick."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.unit.scripts import loaded_script


@pytest.fixture(scope="module")
def bench():
    yield from loaded_script("bench_train")


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_over_its_orders_each_contender_follows_every_other_equally_often(bench, n):
    orders = bench.balanced_orders(n)
    assert all(sorted(order) == list(range(n)) for order in orders)
    follows = Counter((a, b) for order in orders for a, b in zip(order, order[1:], strict=False))
    assert set(follows) == {(a, b) for a in range(n) for b in range(n) if a != b}
    assert len(set(follows.values())) == 1


def test_rounds_take_the_orders_in_turn(bench):
    assert bench.Turns(["a", "b"], 3).schedule == list("ab" "ba" "ab")


def test_contenders_run_one_at_a_time_in_the_schedule_and_keep_their_loops(bench):
    log: list[str] = []
    running = threading.Lock()

    def contender(name):
        def run(clock):
            steps = [0]
            clock.count = lambda: steps[0]
            while True:  # one loop for all its turns, as a training loop keeps its iterator
                clock.tick()
                assert running.acquire(blocking=False), "two contenders ran at once"
                log.append(name)
                steps[0] += 1
                running.release()
        return run

    clocks = bench.run_in_turns({"a": contender("a"), "b": contender("b")}, rounds=3, seconds=0.0)
    turns = bench.Turns(["a", "b"], 4).schedule
    assert log == turns[2:]  # a 0 s turn ends at its first tick: one step in each turn after the first
    assert [units for units, _ in clocks["a"].bursts] == [0, 1, 1, 1]
    assert len(bench.rates(clocks["b"], scale=32)) == 3  # the warm-up turn is left out


def test_a_failing_contender_stops_the_others_and_its_error_comes_out(bench):
    def fails(clock):
        clock.tick()
        raise RuntimeError("out of memory")

    def waits(clock):
        while True:
            clock.tick()

    with pytest.raises(RuntimeError, match="out of memory"):
        bench.run_in_turns({"waits": waits, "fails": fails}, rounds=5, seconds=0.0)


def test_ratios_are_taken_round_by_round_before_the_median(bench):
    # per round 1.2, 1.5, 1.11: their median, not the ratio of the medians (100 / 90)
    cnnkit, plain = [120.0, 30.0, 100.0], [100.0, 20.0, 90.0]
    assert bench.paired_median(cnnkit, plain) == pytest.approx(1.2)


def test_flop_arithmetic(bench):
    assert bench.matmul_flops(2048) == 2 * 2048**3
    assert bench.training_gflops(1000.0, 37_417_472) == pytest.approx(112.25, abs=0.01)  # 3x forward
