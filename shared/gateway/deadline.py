"""A caller waits for the exchange at most a deadline (``EXCHANGE_READ_DEADLINE_S``).

With retries and 10 s timeouts, one slow read could hold its caller for 40 s. A cached read passes the
deadline to the cache as the caller's wait: past it the caller gets the stale copy, or
:class:`SlowExchangeError`, while the fetch goes on in the background still holding the key's fill
lock (so no other caller or process starts a second request to an exchange that is already slow), and
its answer is cached for the next reader. An uncached read (account, orders) is simply cut short.
"""

from __future__ import annotations

from prometheus_client import Counter

from shared import metrics
from shared.errors import TransientExchangeError

DEADLINE_PASSED = Counter(
    metrics.name("exchange_deadline_passed_total"), "Reads whose caller stopped waiting for a slow exchange"
)


class SlowExchangeError(TransientExchangeError):
    """The exchange did not answer within the caller's deadline (a cached read's call goes on in the background)."""
