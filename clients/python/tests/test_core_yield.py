"""When a request ring's caller stops yielding its core (request_ring.CoreYield), and for how long: on a clock of the
test's own, whose yields take as long as the test says. The same cases as the Java client's CoreYieldTest."""
import pytest

from crescent.request_ring import CoreYield

_QUICK = 3e-6
_LOST = CoreYield.LOST * 1.01  # another process held the core, or another thread the GIL
_STEP = 1e-4


class _Clock:
    def __init__(self):
        self.now = 1.0
        self.yield_takes = _QUICK
        self.yields = 0
        self.during_next_yield = None  # another thread's yield that starts and ends while this one is away

    def __call__(self):
        return self.now

    def yield_core(self):
        self.yields += 1
        other, self.during_next_yield = self.during_next_yield, None
        if other:
            other()
        self.now += self.yield_takes


def _yielding(clock):
    return CoreYield(clock=clock, yield_core=clock.yield_core)


def _lose(clock, yielding):
    clock.yield_takes = _LOST
    try:
        return yielding.yield_once()
    finally:
        clock.yield_takes = _QUICK


def _off_after_loss(clock, yielding):
    """Loses the core at once, then waits out the while yielding is off; answers how long that was."""
    assert not _lose(clock, yielding)
    lost_at = clock.now
    while not yielding.yield_once():
        clock.now += _STEP
    return clock.now - _QUICK - lost_at


def test_quick_yields_go_on():
    clock = _Clock()
    yielding = _yielding(clock)
    assert all(yielding.yield_once() for _ in range(100))
    assert clock.yields == 100


def test_a_loss_turns_yielding_off_shortly():
    clock = _Clock()
    yielding = _yielding(clock)
    assert yielding.yield_once()
    assert not _lose(clock, yielding)
    clock.now += CoreYield.SHORTEST_OFF * 0.99
    assert not yielding.yield_once(), "off: the caller sleeps instead"
    assert clock.yields == 2, "no yield while off"
    clock.now += CoreYield.SHORTEST_OFF * 0.02
    assert yielding.yield_once(), "on again after the shortest while: the stall was over"
    assert clock.yields == 3


def test_losses_soon_after_coming_back_on_keep_it_off_longer_up_to_the_longest():
    clock = _Clock()
    yielding = _yielding(clock)
    offs = [_off_after_loss(clock, yielding) for _ in range(7)]
    shortest, longest = CoreYield.SHORTEST_OFF, CoreYield.LONGEST_OFF
    expected = [shortest, 2 * shortest, 4 * shortest, 8 * shortest, 16 * shortest, longest, longest]
    assert offs == pytest.approx(expected, abs=_STEP), "a busy neighbour: each loss comes as soon as yielding is back"


def test_a_loss_long_after_the_last_is_short_again():
    clock = _Clock()
    yielding = _yielding(clock)
    for _ in range(6):
        _off_after_loss(clock, yielding)
    assert _off_after_loss(clock, yielding) == pytest.approx(CoreYield.LONGEST_OFF, abs=_STEP)
    quiet = clock.now + CoreYield.LONGEST_OFF
    while clock.now < quiet:
        assert yielding.yield_once()
    assert _off_after_loss(clock, yielding) == pytest.approx(CoreYield.SHORTEST_OFF, abs=_STEP), "the neighbour left"


def test_yields_away_during_the_same_stall_count_once():
    clock = _Clock()
    yielding = _yielding(clock)
    clock.yield_takes = _LOST
    first_back = []
    clock.during_next_yield = lambda: first_back.append(yielding.yield_once())
    stall_start = clock.now
    assert not yielding.yield_once(), "the one that went away first"
    assert first_back == [False], "the first one back"
    clock.yield_takes = _QUICK
    off_end = stall_start + _LOST + CoreYield.SHORTEST_OFF
    clock.now = off_end - _STEP
    assert not yielding.yield_once(), "off for the shortest while"
    clock.now = off_end
    assert yielding.yield_once(), "on again after it, not after twice that"


def test_a_yield_just_under_the_bound_is_not_a_loss():
    clock = _Clock()
    yielding = _yielding(clock)
    clock.yield_takes = CoreYield.LOST * 0.99
    assert yielding.yield_once()
    assert yielding.yield_once()
