from __future__ import annotations

import pytest

from bench.floor import Bucket, joint_floor, rate_floor, window_floor
from bench.presets import RatePreset, parse_preset


@pytest.mark.parametrize(
    ("calls", "limit", "window", "expected"),
    [
        (0, 100, 10, 0.0),
        (1, 100, 10, 0.0),
        (100, 100, 10, 0.0),  # one burst
        (101, 100, 10, 10.0),  # the 101st waits one window
        (1000, 100, 10, 90.0),
        (2000, 500, 60, 180.0),
    ],
)
def test_window_floor(calls: int, limit: int, window: float, expected: float) -> None:
    assert window_floor(calls, limit, window) == expected


def test_floor_is_the_binding_bucket_and_ignores_other_categories() -> None:
    buckets = [
        Bucket("ten", "hubspot", 100, 10, frozenset({"read", "write"})),
        Bucket("search", "hubspot", 5, 1, frozenset({"search"})),
    ]
    floor = rate_floor(buckets, {"hubspot": {"read": 150, "search": 51, "auth": 9999}})
    assert floor.per_bucket == {"hubspot.ten": 10.0, "hubspot.search": 10.0}
    floor = rate_floor(buckets, {"hubspot": {"read": 150, "search": 56}})
    assert (floor.seconds, floor.binding) == (11.0, "hubspot.search")
    assert floor.ratio(22.0) == 2.0


def test_no_limited_calls_means_no_floor_and_no_ratio() -> None:
    floor = rate_floor(RatePreset().buckets(), {"quickbooks": {"read": 1}})
    assert floor.seconds == 0 and floor.binding == "none" and floor.ratio(5.0) is None


def test_scale_multiplies_counts_rounding_like_the_emulators() -> None:
    real = {b.name: b for b in RatePreset("professional", 1).buckets()}
    fast = {b.name: b for b in RatePreset("professional", 2.5).buckets()}
    assert (real["ten_secondly"].limit, fast["ten_secondly"].limit) == (190, 475)
    assert fast["ten_secondly"].window == 10 and fast["per_minute"].window == 60
    assert fast["search"].limit == 12  # HubSpot floors 12.5
    assert fast["per_second"].limit == 25 and fast["batch"].limit == 300
    calls = {"quickbooks": {"read": 1000, "write": 1000}}
    assert rate_floor(real.values(), calls).seconds == 199.0  # 10/s binds: (2000-1)//10
    assert rate_floor(fast.values(), calls).seconds == 79.0
    limits = RatePreset("starter", 3).client_limits()
    assert limits["hubspot"]["burst_per_10s"] == 300 and limits["quickbooks"]["concurrency"] == 30


def test_parse_preset() -> None:
    assert parse_preset("starter") == RatePreset("starter", 1)
    assert parse_preset("professional*5") == RatePreset("professional", 5)
    assert parse_preset("enterprise:2.5").name == "enterprisex2.5"
    assert parse_preset("starterx4") == RatePreset("starter", 4)
    with pytest.raises(ValueError, match="unknown HubSpot tier"):
        parse_preset("gold*2")
    with pytest.raises(ValueError, match="positive"):
        parse_preset("starter*0")


def test_calls_under_several_limits_at_once_get_the_schedule_those_allow() -> None:
    # 334 QBO batches: 120 a minute, but also 10 a second, so each minute's 120 take
    # 12 s: 0-11 s, 60-71 s, then the last 94 from 120 s to 129 s.
    assert joint_floor(334, [(10, 1), (500, 60), (120, 60)]) == 129.0
    assert joint_floor(334, [(120, 60)]) == window_floor(334, 120, 60) == 120.0
    assert joint_floor(1, [(1, 60)]) == 0.0 and joint_floor(50, []) == 0.0
    floor = rate_floor(RatePreset("starter", 1).buckets(), {"quickbooks": {"batch": 334}})
    assert floor.per_bucket["quickbooks.batch"] == 120.0
    assert (floor.seconds, floor.binding) == (129.0, "quickbooks.batch (all limits)")
