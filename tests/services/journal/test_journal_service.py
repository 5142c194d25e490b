"""The journal service as a process: paper trades made by the real execution code are journaled and notified
(a stop-loss: exactly one notification, even when its entry comes twice), Alertmanager's webhook is
authenticated and a flapping alert cooled down, and the journal answers through execution's and the
monitor's endpoints' queries."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from devkit.waits import caught_up, eventually
from devkit.webhook_server import WebhookServer
from shared.bus import Delivery
from shared.journal.database import create_engine
from shared.journal.queries import Filters, page
from shared.keys import JOURNALED_STREAMS, KILL_SWITCH, STREAM_EXECUTIONS
from shared.trading_state import clear_flag, set_flag
from tests.conftest import JournalFactory
from tests.helpers.journal import SYMBOL, decision
from tests.services.execution.test_trader import Market, make_trader, protection

JOURNALED = sorted(JOURNALED_STREAMS)
TOKEN = "journal-test-token"


def sqlite_url(stack_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{stack_dir}/data/journal.sqlite3"


async def test_a_stop_loss_sends_exactly_one_notification_and_is_journaled(
    redis: Redis, webhook: WebhookServer, journal_service: JournalFactory
) -> None:
    service = journal_service(NOTIFY_URLS=webhook.url, ADMIN_TOKEN=TOKEN)
    market = Market(BTC_USDT=100.0)
    trader = make_trader(redis, market)
    guard = protection(trader)

    await trader.on_decision(decision(symbol=SYMBOL), Delivery("stream:decisions", "execution", "1-0", 1))
    await guard.tick()
    market.table[SYMBOL] = 89.0  # below the stop at 90
    assert await guard.tick() == 1
    await eventually(lambda: caught_up(redis, "notifier", (STREAM_EXECUTIONS,)), what="notifier caught up")
    await eventually(lambda: len(webhook.received) >= 2, what="two notifications")

    # The close's entry delivered again (a redelivery, a replay): still one notification.
    [(_, close_fields)] = await redis.xrevrange(STREAM_EXECUTIONS, count=1)
    await redis.xadd(STREAM_EXECUTIONS, close_fields)
    await eventually(lambda: caught_up(redis, "notifier", (STREAM_EXECUTIONS,)), what="notifier caught up again")
    titles = webhook.titles()
    assert sum(t.startswith("Stop-loss") for t in titles) == 1, titles
    assert sum(t.startswith("Opened") for t in titles) == 1, titles

    engine = create_engine(sqlite_url(service.log_dir))
    try:
        await eventually(lambda: caught_up(redis, "journal", JOURNALED), what="journal caught up")
        [trade] = (await page(engine, "trades", Filters())).items
        assert trade.close_reason == "stop-loss" and trade.exit_price == pytest.approx(89 * 0.999)
        assert trade.entry_fee == pytest.approx(100.1 * 0.001) and trade.exit_fee == pytest.approx(89 * 0.999 * 0.001)
        assert (await page(engine, "equity", Filters())).items  # the watcher's equity snapshots
    finally:
        await engine.dispose()


async def test_kill_switch_and_alerts_reach_the_phone_once(
    redis: Redis, webhook: WebhookServer, journal_service: JournalFactory
) -> None:
    service = journal_service(NOTIFY_URLS=webhook.url, ADMIN_TOKEN=TOKEN, NOTIFY_ALERT_COOLDOWN_S="600")
    assert await set_flag(redis, KILL_SWITCH, "operator: going to lunch")
    assert not await set_flag(redis, KILL_SWITCH, "again")  # already on: no second event
    assert await clear_flag(redis, KILL_SWITCH)

    alert = {"labels": {"alertname": "ServiceDown", "severity": "critical"}, "fingerprint": "5e2b"}
    async with httpx.AsyncClient(base_url=service.url("journal"), timeout=10) as client:
        assert (await client.post("/alerts", json={"alerts": []})).status_code == 401
        for minute in range(5):  # flapping: fires and resolves every minute
            for status in ("firing", "resolved"):
                body = {"alerts": [alert | {"status": status, "startsAt": f"2025-01-01T00:0{minute}:00Z"}]}
                response = await client.post("/alerts", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
                assert response.json() == {"events": 1}
    await eventually(lambda: caught_up(redis, "notifier", ("stream:events",)), what="notifier caught up")
    assert sorted(webhook.titles()) == [
        "Kill switch ON: no new orders",
        "Kill switch off: trading resumes",
        "[FIRING] ServiceDown",
        "[RESOLVED] ServiceDown",
    ]
