"""Pure logic: how many messages each service's topics may carry, so a crash loop cannot flood the uplink.

A change to a passing state (state.py: `created`, `initialized`,
`stopped` before podman's cleanup) waits up to HOLD seconds for the state
that follows, so that one operation goes out as one change. Each service
has a bucket of message tokens: BURST to start with (a normal stop, start
or install goes out at once), refilled at PER_MINUTE a minute. A change
that finds too few tokens waits (announce.py keeps only its latest state:
changes coalesce, the latest wins). It goes out when the tokens are there
again, or, so that the final state is never held back, once the service
has been quiet (no new change, no event: `touched`) for QUIET seconds:
that last publish may take the bucket into a small debt (DEBT), paid back
by the next refills. A container restarting five times a second never
goes quiet, so its topics carry BURST messages and then PER_MINUTE a
minute; when the loop ends, its last state is out within QUIET seconds.
Once the crash-loop alarm is raised (`final_only`), states go out only when
quiet: the flips between running and exited say nothing new, and the
tokens are kept for the state the loop ends in, at most LOOP_TOKENS of
them (a loop that pauses now and then must not spend the rest of its burst).

No clock is read here: every call takes `now` (time.monotonic() in the
monitor, a fake clock in tests/unit/test_monitor_budget.py).
"""

from __future__ import annotations

BURST = 6  # messages a service may send at once (registration + health = 2 per change)
PER_MINUTE = 2.0  # then this many a minute (the crash-loop alarm has its own interval)
DEBT = 2  # how far below zero a final (quiet) publish may take the bucket
LOOP_TOKENS = 2  # the tokens a crash loop keeps: one state (with the alarm's update: 3 a minute)
QUIET = 1.0  # seconds without an event after which the latest state is final
HOLD = 0.5  # at most this long a passing state waits for the next state of the same operation


class _Bucket:
    __slots__ = ("changed_at", "since", "stamp", "tokens")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.stamp = now
        self.changed_at = now
        self.since: float | None = None  # the first change not published yet


class Budget:
    """Message tokens per service name."""

    def __init__(
        self, burst: float = BURST, per_minute: float = PER_MINUTE, debt: float = DEBT, quiet: float = QUIET
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0  # tokens a second
        self.debt = debt
        self.quiet = quiet
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, name: str, now: float) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(self.burst, now)
        elif now > bucket.stamp:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
        return bucket

    def changed(self, name: str, now: float) -> None:
        """The service's state changed (a new latest state waits to be published)."""
        bucket = self._bucket(name, now)
        bucket.changed_at = now
        if bucket.since is None:
            bucket.since = now

    def touched(self, name: str, now: float) -> None:
        """The engine did something to the service's container (an event), changed or not: not quiet."""
        bucket = self._buckets.get(name)
        if bucket is not None:
            bucket.changed_at = now

    def allow(self, name: str, cost: int, now: float, hold: float = 0.0, final_only: bool = False) -> bool:
        """Whether `cost` messages may go now; if so, they are counted (0: nothing to say, always).

        `hold`: seconds the state waits for the next one first (a passing state: HOLD);
        `final_only`: only once quiet (a crash loop)."""
        bucket = self._bucket(name, now)
        if cost and bucket.since is not None and now - bucket.since < hold:
            return False
        final = now - bucket.changed_at >= self.quiet
        if final_only:
            bucket.tokens = min(bucket.tokens, LOOP_TOKENS)
            if cost and not final:
                return False
        if not cost or bucket.tokens >= cost or (final and bucket.tokens - cost >= -self.debt):
            bucket.tokens -= cost
            bucket.since = None
            return True
        return False

    def next_try(
        self, name: str, cost: int, now: float, hold: float = 0.0, final_only: bool = False
    ) -> float:
        """When a waiting change of `cost` messages may go at the earliest (assuming no new change)."""
        bucket = self._bucket(name, now)
        refilled = now + max(0.0, cost - bucket.tokens) / self.rate if self.rate > 0 else float("inf")
        quiet_at = bucket.changed_at + self.quiet
        in_debt = now + max(0.0, cost - self.debt - bucket.tokens) / self.rate if self.rate > 0 else refilled
        held = (bucket.since if bucket.since is not None else now) + hold
        if final_only:
            refilled = max(refilled, quiet_at)
        return max(held, min(refilled, max(quiet_at, in_debt)))

    def forget_idle(self, now: float, keep: set[str] | frozenset[str] = frozenset()) -> None:
        """Drop the buckets that are full again (as a fresh one): memory follows the live services."""
        for name in [name for name in self._buckets if name not in keep]:
            bucket = self._bucket(name, now)
            if bucket.tokens >= self.burst and bucket.since is None:
                del self._buckets[name]

    def __len__(self) -> int:
        return len(self._buckets)
