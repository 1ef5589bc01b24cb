"""HubSpot rate limits: a rolling 10-second burst bucket per app, a daily cap per portal
(private apps only), and the search API's own per-second limit per portal.

Presets follow the vendor's published tiers; ``scale`` multiplies every limit so a
benchmark can run at "real limits x k". OAuth (public app) tokens always get the public-app
burst limit and no daily cap, and their responses omit the daily headers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from emulators.core import RollingWindow
from emulators.hubspot.auth import Token
from emulators.hubspot.errors import RateLimited

# preset -> (burst per 10 s, daily per portal)
PRESETS: dict[str, tuple[int, int]] = {
    "starter": (100, 250_000),
    "professional": (190, 625_000),
    "enterprise": (190, 1_000_000),
}
PUBLIC_APP_BURST = 110
INTERVAL_MS = 10_000


@dataclass(frozen=True)
class Policy:
    preset: str = "starter"  # or "off"
    scale: float = 1.0
    search_per_second: int = 5
    retry_after: bool = False  # the vendor documents no Retry-After on REST 429s

    def scaled(self, limit: int) -> int:
        return max(1, math.floor(limit * self.scale))


class Limiter:
    def __init__(self) -> None:
        self.policy = Policy()
        self._burst = RollingWindow(100, INTERVAL_MS / 1000)
        self._public = RollingWindow(PUBLIC_APP_BURST, INTERVAL_MS / 1000)
        self._search = RollingWindow(5, 1.0)
        self._daily: dict[tuple[str, str], int] = {}

    def configure(self, policy: Policy) -> None:
        self.policy = policy
        burst, _ = PRESETS.get(policy.preset, PRESETS["starter"])
        self._burst.limit = policy.scaled(burst)
        self._public.limit = policy.scaled(PUBLIC_APP_BURST)
        self._search.limit = policy.scaled(policy.search_per_second)

    def reset(self) -> None:
        self._burst.reset()
        self._public.reset()
        self._search.reset()
        self._daily.clear()

    def daily_used(self, portal_id: str) -> int:
        return self._daily.get((portal_id, _today()), 0)

    def check(self, token: Token, *, search: bool) -> dict[str, str]:
        """Count one request; the rate-limit headers to send, or `RateLimited`."""
        if self.policy.preset == "off":
            return {}
        day_key = (token.portal_id, _today())
        used_today = self._daily.get(day_key, 0)
        daily_cap = None
        if token.kind == "private":
            daily_cap = self.policy.scaled(PRESETS.get(self.policy.preset, PRESETS["starter"])[1])
            if used_today >= daily_cap:
                raise RateLimited(
                    "DAILY",
                    "You have reached your daily limit.",
                    self._retry_after(_seconds_to_midnight()),
                    groupName=f"publicapi:private-app-api-calls-daily:{token.portal_id}",
                )
        if search:
            verdict = self._search.hit(token.portal_id)
            if not verdict.allowed:
                raise RateLimited(
                    "SECONDLY",
                    "You have reached your secondly limit.",
                    self._retry_after(verdict.retry_after),
                    groupName=f"publicapi:crm-search-secondly:{token.portal_id}",
                )
            self._daily[day_key] = used_today + 1
            return {}  # search responses carry no rate-limit headers
        window = self._public if token.kind == "oauth" else self._burst
        verdict = window.hit((token.app_id, token.portal_id))
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(INTERVAL_MS),
            "X-HubSpot-RateLimit-Max": str(verdict.limit),
            "X-HubSpot-RateLimit-Remaining": str(verdict.remaining),
            "X-HubSpot-RateLimit-Secondly": str(max(1, verdict.limit // 10)),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(
                max(0, verdict.limit // 10 - (verdict.limit - verdict.remaining))
            ),
        }
        if daily_cap is not None:
            used = used_today + (1 if verdict.allowed else 0)
            headers["X-HubSpot-RateLimit-Daily"] = str(daily_cap)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(0, daily_cap - used))
        if not verdict.allowed:
            headers.update(self._retry_after(verdict.retry_after))
            raise RateLimited(
                "TEN_SECONDLY_ROLLING",
                "You have reached your ten_secondly_rolling limit.",
                headers,
                groupName=f"publicapi:{token.kind}-app-api-calls-ten-secondly:{token.app_id}",
            )
        self._daily[day_key] = used_today + 1
        return headers

    def _retry_after(self, seconds: float) -> dict[str, str]:
        if not self.policy.retry_after:
            return {}
        return {"Retry-After": str(max(1, math.ceil(seconds)))}


def _today() -> str:
    # The vendor resets at midnight in the portal's time zone; emulated portals are UTC.
    return datetime.now(UTC).date().isoformat()


def _seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    return 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)
