"""One process of the shared-budget test: tries to reserve N LLM requests, prints how many it got.

Usage: python -m tests.helpers.budget_proc REDIS_URL PROCESSES ATTEMPTS MAX_REQUESTS (the processes start together)
"""

from __future__ import annotations

import asyncio
import sys

from devkit import barrier
from shared.llm import LlmBudget
from shared.redis_client import create_redis
from shared.settings import ServiceSettings


async def main(redis_url: str, parties: int, attempts: int, max_requests: int) -> None:
    redis = create_redis(ServiceSettings(redis_url=redis_url))
    budget = LlmBudget(redis, "ia1", max_requests=max_requests, max_tokens=10**9)
    await barrier.meet(redis, "test:budget-start", parties)
    granted = await asyncio.gather(*(budget.reserve() for _ in range(attempts)))
    print(sum(granted))
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
