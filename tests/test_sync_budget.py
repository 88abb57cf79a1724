"""Rate-limit headers read defensively (issue 10): parse_wait and RateBudget, no network."""

from __future__ import annotations

import asyncio
import email.utils
import math
import time

import pytest

from stellar_ob.sync import RateBudget, Status, parse_wait


@pytest.mark.parametrize("value, expected", [
    ("0", 0.0), ("120", 120.0), (" 7 ", 7.0), ("1.5", 1.5), ("000", 0.0),
    ("1000000000000", 1e12), ("1" * 5000, math.inf), ("9" * 16, math.inf),
])
def test_delta_seconds(value, expected):
    assert parse_wait(value) == expected


@pytest.mark.parametrize("value", [
    "inf", "Infinity", "nan", "-1", "+5", "1e3", "0x10", "\u00b2", "\u0663", "", "  ", "soon", "1,5", None, 5, b"5",
    "x" * 1000, "Fri, 32 Dec 2024 23:59:59 GMT",
])
def test_unreadable_values(value):
    assert parse_wait(value) is None


def test_http_dates():
    now = 1_000_000.0
    date = email.utils.formatdate(now + 90, usegmt=True)
    assert parse_wait(date, now=now) == pytest.approx(90.0)
    assert parse_wait(email.utils.formatdate(now - 90, usegmt=True), now=now) == 0.0  # past: no wait
    far = parse_wait("Fri, 31 Dec 9999 23:59:59 GMT")
    assert far is not None and far > 2.5e11
    assert parse_wait("Thu, 01 Jan 1970 00:01:40 GMT", now=0.0) == 100.0
    assert parse_wait("Thursday, 01-Jan-70 00:01:40 GMT", now=0.0) in (100.0, None)  # obsolete RFC 850: either


def test_module_doctest_of_parse_wait():
    import doctest

    from stellar_ob import sync

    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for t in finder.find(sync.parse_wait, "parse_wait", globs={"parse_wait": parse_wait}):
        runner.run(t)
    assert runner.failures == 0


def test_observe_ignores_and_reports_unreadable_headers():
    b = RateBudget(max_wait=300.0)
    bad = b.observe({"X-RateLimit-Limit": "inf", "X-RateLimit-Remaining": "nan", "X-RateLimit-Reset": "soon"})
    assert len(bad) == 3 and b.limit is None and b.remaining is None and b.blocked_for() == 0
    assert b.observe({"X-RateLimit-Limit": "3600", "X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "30"}) == []
    assert (b.limit, b.remaining, b.reset_in) == (3600, 12, 30.0) and b.blocked_for() == 0
    assert b.observe({"X-RateLimit-Remaining": "\u00b2"}) and b.remaining == 12


def test_remaining_zero_blocks_for_reset_but_never_past_max_wait():
    b = RateBudget(max_wait=5.0)
    assert b.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1" * 5000}) == []
    assert 4.0 < b.blocked_for() <= 5.0 and b.reset_in == 5.0


def test_retry_after_and_block_are_capped():
    b = RateBudget(max_wait=10.0)
    assert b.retry_after({"Retry-After": "1000000000000"}) == 10.0
    assert b.retry_after({"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}) == 10.0
    assert b.retry_after({"Retry-After": "inf"}) == 1.0  # unreadable: the default
    assert b.retry_after({"Retry-After": "inf", "X-RateLimit-Reset": "3"}) == 3.0
    assert b.retry_after({"Retry-After": "2", "X-RateLimit-Reset": "3"}) == 3.0  # the larger
    assert b.retry_after({}) == 1.0
    assert b.block(math.inf) == 10.0 and b.block(math.nan) == 0.0 and b.block(-5) == 0.0
    assert 9.0 < b.blocked_for() <= 10.0


async def test_acquire_shows_rate_limited_with_its_end():
    class Owner:
        status = Status.LIVE
        rate_limited_until = None

        def _rate_limited(self, seconds: float) -> None:
            self.status = Status.RATE_LIMITED
            self.rate_limited_until = time.time() + seconds

    b = RateBudget(max_wait=0.3)
    b.block(1e9)
    owner = Owner()
    t0 = time.monotonic()
    task = asyncio.create_task(b.acquire(owner))
    await asyncio.sleep(0.05)
    assert owner.status is Status.RATE_LIMITED and time.time() < owner.rate_limited_until <= time.time() + 0.3
    await asyncio.wait_for(task, 5.0)
    assert 0.25 <= time.monotonic() - t0 < 5.0
