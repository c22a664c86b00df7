"""Limits kept in the process: a socket's own bucket, and leases of tokens from a shared bucket
in Redis (a conversation's, an address's), so that most checks need no Redis round trip.

A socket lives in one process, so its bucket here is exact. A conversation (and a client
address, for new visitors) is shared by every process; a process takes a few of its tokens from
Redis at once (a lease), serves its next messages (or connects) from them, and gives back what
it did not use once the lease has been idle for a moment. The tokens are spent in Redis when
leased, so the limit is never exceeded; another process may be refused up to one lease early
while this one holds them.
"""

from __future__ import annotations

from ..core.rates import Rate

# A lease is at most this many tokens, and at most a tenth of the bucket's burst (a burst of
# under 20 leases one token at a time: the limit stays exact across processes).
LEASE_MAX = 16
_LEASE_SHARE = 10
# A lease unused for this long goes back to the shared bucket at the next sweep.
LEASE_IDLE_SECONDS = 1.0
# How often a take looks for idle leases and full socket buckets to drop.
SWEEP_SECONDS = 1.0


def lease_size(rate: Rate) -> int:
    return max(1, min(LEASE_MAX, rate.count // _LEASE_SHARE))


class _Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at


class LocalBuckets:
    """Token buckets of subjects that live in this process (sockets), keyed by bucket name."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, rate: Rate, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(rate.count), now)
        else:
            refill = max(0.0, now - bucket.at) * rate.per_second
            bucket.tokens = min(float(rate.count), bucket.tokens + refill)
            bucket.at = now
        return bucket

    def wait(self, rate: Rate, key: str, cost: int, now: float) -> float:
        """Seconds until `cost` tokens are there (0: they are)."""
        bucket = self._level(rate, key, now)
        return max(0.0, (cost - bucket.tokens) / rate.per_second)

    def take(self, rate: Rate, key: str, cost: int, now: float) -> None:
        self._level(rate, key, now).tokens -= cost

    def give_back(self, rate: Rate, key: str, cost: int, now: float) -> None:
        bucket = self._level(rate, key, now)
        bucket.tokens = min(float(rate.count), bucket.tokens + cost)

    def sweep(self, rates: dict[str, Rate], now: float) -> None:
        """Drop the buckets that have refilled: a fresh one is the same (and a departed
        socket's bucket goes with it)."""
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * rates[_limit_of(key)].per_second
            >= rates[_limit_of(key)].count
        ]
        for key in full:
            del self._buckets[key]


class Leases:
    """Tokens this process took from shared buckets and has not used yet, by bucket key."""

    def __init__(self) -> None:
        self._tokens: dict[str, int] = {}
        self._used_at: dict[str, float] = {}

    def __bool__(self) -> bool:
        return bool(self._used_at)

    def __contains__(self, key: str) -> bool:
        """Whether `key` was leased and used within the idle time (even if used up)."""
        return key in self._used_at

    def held(self, key: str) -> int:
        return self._tokens.get(key, 0)

    def take(self, key: str, cost: int, now: float) -> bool:
        """Serve `cost` from the lease; False when it holds fewer."""
        held = self._tokens.get(key, 0)
        if held < cost:
            return False
        self._tokens[key] = held - cost
        self._used_at[key] = now
        return True

    def add(self, key: str, tokens: int, now: float) -> None:
        """Tokens granted by Redis (or given back by a post that did not count)."""
        self._tokens[key] = self._tokens.get(key, 0) + tokens
        self._used_at[key] = now

    def surrender(self, key: str) -> int:
        """Everything held for `key`, to be handed back to Redis with the next lease request."""
        self._used_at.pop(key, None)
        return self._tokens.pop(key, 0)

    def idle(self, now: float) -> dict[str, int]:
        """Remove the leases unused for LEASE_IDLE_SECONDS; what they held, to give back."""
        idle = [k for k, used in self._used_at.items() if now - used >= LEASE_IDLE_SECONDS]
        returned = {}
        for key in idle:
            del self._used_at[key]
            tokens = self._tokens.pop(key, 0)
            if tokens:
                returned[key] = tokens
        return returned

    def all(self) -> dict[str, int]:
        returned = {key: tokens for key, tokens in self._tokens.items() if tokens}
        self._tokens.clear()
        self._used_at.clear()
        return returned


def _limit_of(key: str) -> str:
    """The limit a local bucket key names (keys are `<limit>|<subject>`)."""
    return key.partition("|")[0]
