"""The monitor's publish budget and crash-loop alarm pacing, with a fake clock (pure logic).

A container that podman restarts five times a second is simulated by
feeding a state change every 0.2 s; what is counted is what announce.py
would publish: the messages each `allow` lets through.
"""

from __future__ import annotations

from tedge_container.monitor.budget import BURST, HOLD, PER_MINUTE, QUIET, Budget
from tedge_container.monitor.crashloop import CrashLoops


def crash_loop(budget: Budget, seconds: float, start: float = 0.0, cost: int = 2) -> list[float]:
    """A change every 0.2 s for `seconds`; the waiting state tried every round (0.05 s). Publish times."""
    published = []
    waiting = False
    now = start
    while now < start + seconds:
        if round((now - start) / 0.05) % 4 == 0:
            budget.changed("loop", now)
            waiting = True
        budget.touched("loop", now)  # an event every round, a state change every 0.2 s
        if waiting and budget.allow("loop", cost, now):
            published.append(now)
            waiting = False
        now = round(now + 0.05, 6)
    return published


def test_a_crash_loop_gets_the_burst_then_a_few_messages_a_minute() -> None:
    budget = Budget()
    published = crash_loop(budget, 180)
    first_minute = [t for t in published if t < 60]
    assert len(first_minute) * 2 <= BURST + PER_MINUTE  # messages: 2 per publish
    assert published[0] == 0.0  # the first change goes at once
    for minute in (1, 2):
        in_minute = [t for t in published if 60 * minute <= t < 60 * (minute + 1)]
        assert len(in_minute) * 2 <= PER_MINUTE + 1


def test_the_final_state_goes_once_the_loop_is_quiet_even_without_tokens() -> None:
    budget = Budget()
    crash_loop(budget, 20)  # the burst is spent
    assert not budget.allow("loop", 2, 20.0)  # an event at 19.95 s: not quiet yet, no tokens
    assert not budget.allow("loop", 2, 19.8 + QUIET)  # quiet since the last change, not the last event
    assert budget.allow("loop", 2, 19.95 + QUIET)  # quiet: the final state may take the bucket into debt
    budget.changed("loop", 21.0)  # ... but not deeper than DEBT
    assert not budget.allow("loop", 2, 21.0 + QUIET)
    assert budget.next_try("loop", 2, 21.0 + QUIET) > 21.0 + QUIET
    assert budget.allow("loop", 0, 21.0 + QUIET)  # nothing to say: no wait


def test_normal_changes_go_at_once_and_idle_buckets_are_forgotten() -> None:
    budget = Budget()
    for index, now in enumerate((0.0, 5.0, 10.0)):  # run, stop, start: each goes at once
        budget.changed("web", now)  # a passing state (created, stopped): waits for the next one
        assert not budget.allow("web", 2, now + 0.1, hold=HOLD)
        assert budget.next_try("web", 2, now + 0.1, hold=HOLD) == now + HOLD
        budget.changed("web", now + 0.3)  # the next state of the same operation: at once
        assert budget.allow("web", 2, now + 0.3), index
    budget.forget_idle(11.0)
    assert len(budget) == 1  # not full yet
    budget.forget_idle(11.0 + 60 * BURST / PER_MINUTE)
    assert len(budget) == 0


def test_next_try_is_when_the_tokens_are_back_or_the_loop_is_quiet() -> None:
    budget = Budget(burst=2, per_minute=2, debt=1, quiet=QUIET)
    budget.changed("x", 0.0)
    assert budget.allow("x", 2, 0.0)
    budget.changed("x", 1.0)
    assert not budget.allow("x", 1, 1.0)  # no token, not quiet
    assert budget.next_try("x", 1, 1.0) == 1.0 + QUIET  # quiet then: one message of debt allowed
    assert not budget.allow("x", 2, 1.0 + QUIET)  # two would go deeper than the debt
    assert budget.next_try("x", 2, 1.0 + QUIET) == 30.0  # one token back after 30 s, one of debt


def test_the_crash_loop_alarm_is_raised_at_once_and_updated_once_per_interval() -> None:
    loops = CrashLoops(threshold=3, clear_after=300, update_interval=60)
    raised = []
    restarts = 0
    now = 0.0
    while now < 150:
        restarts += 1
        verdict = loops.observe("loop", restarts, running=restarts % 2 == 0, now=now)
        raised += [(now, verdict.restarts)] if verdict else []
        raised += [(now, v.restarts) for _, v in loops.tick(now) if v.action == "raise"]
        now = round(now + 0.2, 6)
    assert raised[0] == (0.4, 3)  # at the threshold: at once
    assert [round(t) for t, _ in raised] == [0, 60, 120]  # then the count once a minute
    assert raised[1][1] > 250 and loops.looping("loop")


def test_a_crash_loop_that_pauses_spends_at_most_its_refill() -> None:
    """Once its alarm is raised: states only when quiet, and no more than 2 tokens kept from the burst."""
    budget = Budget()
    published = []
    now = 0.0
    while now < 600:  # a loop that pauses 1.5 s every 5 s (a busy machine): each pause looks like its end
        if budget.allow("loop", 2, now, final_only=True):  # the waiting state, tried before the event
            published.append(now)
        budget.touched("loop", now)
        budget.changed("loop", now)
        now = round(now + (1.5 if round(now * 10) % 50 == 0 else 0.25), 6)
    for minute in range(10):
        assert len([t for t in published if 60 * minute <= t < 60 * (minute + 1)]) * 2 <= PER_MINUTE + 2
    assert len(published) * 2 <= 2 + PER_MINUTE * 10  # on average the refill
