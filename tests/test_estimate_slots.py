"""The first free counter slot for a visitor with many people ahead: counted, not handed out one by one,
and the same as handing out (the estimate of a new ticket must not cost more in a long line)."""
from __future__ import annotations

import random

from hall.estimate import HAND_OUT, first_free_slot, hand_out


def test_counting_slots_gives_what_handing_them_out_gives():
    pick = random.Random(11)
    for _ in range(400):
        servers = [(pick.choice([0.0, 60.0, pick.uniform(0, 600)]), pick.choice([300.0, 600.0, pick.uniform(60, 1200)]))
                   for _ in range(pick.randint(1, 6))]
        taken = pick.choice([HAND_OUT + 1, 500, pick.randint(HAND_OUT + 1, 3000)])
        (start, step), (expected_start, expected_step) = first_free_slot(servers, taken), hand_out(servers, taken)
        assert abs(start - expected_start) <= 1e-9 * expected_start and step == expected_step, (servers, taken)


def test_counters_alike_share_the_line_in_turn():
    # three idle counters of 300 s, 20 000 ahead: 6 666 rounds of three, then two of the 6 667th
    # round's slots are taken and the third is the visitor's
    assert first_free_slot([(0.0, 300.0)] * 3, 20_000) == (6666 * 300.0, 300.0)
