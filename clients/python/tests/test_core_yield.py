"""When a request ring's caller stops yielding its core (request_ring.CoreYield): on a clock of the test's own, whose
yields take as long as the test says. The same cases as the Java client's CoreYieldTest."""
from crescent.request_ring import CoreYield


class _Clock:
    def __init__(self):
        self.now = 1.0
        self.yield_takes = 3e-6
        self.yields = 0

    def __call__(self):
        return self.now

    def yield_core(self):
        self.yields += 1
        self.now += self.yield_takes


def _yielding(clock):
    return CoreYield(clock=clock, yield_core=clock.yield_core)


def test_quick_yields_go_on():
    clock = _Clock()
    yielding = _yielding(clock)
    assert all(yielding.yield_once() for _ in range(100))
    assert clock.yields == 100


def test_a_yield_that_lost_the_core_turns_yielding_off_for_a_while():
    clock = _Clock()
    yielding = _yielding(clock)
    assert yielding.yield_once()
    clock.yield_takes = CoreYield.LOST * 1.01  # another process held the core, or another thread the GIL
    assert not yielding.yield_once()
    clock.yield_takes = 3e-6
    clock.now += CoreYield.OFF * 0.99
    assert not yielding.yield_once(), "off: the caller sleeps instead"
    assert clock.yields == 2, "no yield while off"
    clock.now += CoreYield.OFF * 0.02
    assert yielding.yield_once(), "on again after the while"
    assert clock.yields == 3


def test_a_yield_just_under_the_bound_is_not_a_loss():
    clock = _Clock()
    yielding = _yielding(clock)
    clock.yield_takes = CoreYield.LOST * 0.99
    assert yielding.yield_once()
    assert yielding.yield_once()
