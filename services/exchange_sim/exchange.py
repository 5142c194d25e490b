"""The simulated exchange: one account per API key, each brought up to the clock before it is used.

Every request for an account runs in :meth:`Exchange.session`, which first evaluates everything that
happened to the account since it was last looked at (``timeline.advance``): triggers, fills,
liquidations and funding happen at their own past instants, whether or not anybody asked in between.
Moving the clock (admin API) evaluates every account at once. An account's time never goes back: if
the clock is set earlier than an account's last evaluation, that account acts at its own time.

Listeners (``Exchange.listeners``) are called with every order, position and balance change, in order;
a websocket account stream can be built on them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from services.exchange_sim.accounts import Account, AccountEvent, Listener, Venue
from services.exchange_sim.market import SyntheticMarket
from services.exchange_sim.timeline import advance


class Exchange:
    def __init__(self, venue: Venue, *, start_balance: float, rate_of: Callable[[str, int], float]) -> None:
        self.venue = venue
        self.start_balance = start_balance
        self.rate_of = rate_of
        self.listeners: list[Listener] = []
        self._accounts: dict[str, Account] = {}
        self._lock = threading.RLock()

    @property
    def market(self) -> SyntheticMarket:
        return self.venue.market

    def emit(self, event: AccountEvent) -> None:
        for listener in list(self.listeners):
            listener(event)

    def reset(self) -> None:
        with self._lock:
            self._accounts.clear()

    @contextmanager
    def session(self, api_key: str, now_ms: int) -> Iterator[tuple[Account, int]]:
        """The account of ``api_key`` evaluated up to ``now_ms``, and the instant it acts at."""
        with self._lock:
            account = self._accounts.get(api_key)
            if account is None:
                account = self._accounts[api_key] = Account(api_key, self.start_balance, now_ms)
            advance(account, self.venue, now_ms, self.rate_of, self.emit)
            yield account, max(now_ms, account.clock_ms)

    def advance_all(self, now_ms: int) -> None:
        with self._lock:
            for account in self._accounts.values():
                advance(account, self.venue, now_ms, self.rate_of, self.emit)
