"""The first free counter slot for a visitor with many people ahead: counted, not handed out one by one,
and the same as handing out (the estimate of a new ticket must not cost more in a long line), also
for counters with planned breaks, a later opening or an earlier closing."""
from __future__ import annotations

import math
import random

from hall.estimate import HAND_OUT, first_free_slot, free_slots, hand_out, segments


def _server(pick: random.Random):
    """A counter free at some moment, with up to two planned breaks and perhaps an end."""
    free_in = pick.choice([0.0, 60.0, pick.uniform(0, 600)])
    step = pick.choice([300.0, 600.0, pick.uniform(60, 1200)])
    gaps, at = [], pick.uniform(-600, 3000)
    for _ in range(pick.randint(0, 2)):
        length = pick.choice([1800.0, pick.uniform(10, 4000)])
        gaps.append((at, at + length))
        at += length + pick.uniform(1, 5000)
    end = pick.choice([math.inf, math.inf, pick.uniform(0, 40_000)])
    return segments(free_in, step, tuple(gaps), end)


def test_counting_slots_gives_what_handing_them_out_gives():
    pick = random.Random(11)
    for _ in range(400):
        servers = [_server(pick) for _ in range(pick.randint(1, 6))]
        if not any(runs and runs[-1][2] == math.inf for runs in servers):
            servers.append(segments(pick.uniform(0, 600), 300.0))
        taken = pick.choice([HAND_OUT + 1, 500, pick.randint(HAND_OUT + 1, 3000)])
        (start, step), (expected_start, expected_step) = first_free_slot(servers, taken), hand_out(servers, taken)
        assert abs(start - expected_start) <= 1e-9 * expected_start and step == expected_step, (servers, taken)


def test_counters_alike_share_the_line_in_turn():
    # three idle counters of 300 s, 20 000 ahead: 6 666 rounds of three, then two of the 6 667th
    # round's slots are taken and the third is the visitor's
    assert first_free_slot([segments(0.0, 300.0)] * 3, 20_000) == (6666 * 300.0, 300.0)


def test_no_slot_starts_in_a_planned_break_or_after_closing():
    # free now, 300 s a visitor; a break from 1000 to 2800 s; closes at 4000 s
    assert segments(0.0, 300.0, ((1000.0, 2800.0),), 4000.0) == ((0.0, 300.0, 4), (2800.0, 300.0, 4))
    # busy until inside the break: the next slot is at its end
    assert segments(1500.0, 300.0, ((1000.0, 2800.0),)) == ((2800.0, 300.0, math.inf),)
    # a visitor called just before the break keeps the counter past its start: the break ends as planned
    assert segments(0.0, 700.0, ((1000.0, 1500.0),)) == ((0.0, 700.0, 2), (1500.0, 700.0, math.inf))


def test_the_free_slots_of_places_in_turn_are_each_places_first_free_slot():
    """What an issue's estimates for several places in line take (hall/estimate.py `free_slots`), in a
    short line (handed out) and a long one (counted, then handed on)."""
    pick = random.Random(7)
    for _ in range(300):
        servers = [_server(pick) for _ in range(pick.randint(1, 6))]
        if not any(runs and runs[-1][2] == math.inf for runs in servers):
            servers.append(segments(pick.uniform(0, 600), 300.0))
        first = pick.choice([0, HAND_OUT - 2, HAND_OUT + 1, pick.randint(0, 3000)])
        count = pick.randint(1, 8)
        for taken, (start, step) in zip(range(first, first + count), free_slots(servers, first, count)):
            expected_start, expected_step = hand_out(servers, taken)
            assert abs(start - expected_start) <= 1e-9 * expected_start and step == expected_step, (servers, taken)
    # three counters alike: the 20 000th place is the third counter's, the next ones the next round's
    assert free_slots([segments(0.0, 300.0)] * 3, 20_000, 3) == [(6666 * 300.0, 300.0), (6667 * 300.0, 300.0),
                                                                 (6667 * 300.0, 300.0)]
