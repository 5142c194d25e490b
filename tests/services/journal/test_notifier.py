"""Notifications through apprise to a local webhook receiver, with Redis for dedup and limits: one note per
message however often it is delivered, a flapping alert cooled down, an hourly budget that critical notes
pass, a failed delivery retried, and URLs that never appear in an error."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from devkit.webhook_server import WebhookServer
from services.journal.alerts import WebhookAlert, alert_event
from services.journal.notes import event_note, execution_note
from services.journal.notifier import Note, NotificationFailed, Notifier, load_targets
from shared.errors import ConfigurationError
from tests.helpers.journal import fill


def notifier(redis: Redis, urls: list[str], **limits: int) -> Notifier:
    values = {"dedup_window_s": 3600, "cooldown_s": 900, "max_per_hour": 30} | limits
    return Notifier(redis, load_targets(urls), timeout_s=10, **values)


def flapping(fingerprint: str, started: str, status: str = "firing") -> Note:
    alert = WebhookAlert.model_validate(
        {
            "status": status,
            "labels": {"alertname": "ServiceDown", "severity": "critical"},
            "annotations": {"summary": "execution is not answering"},
            "startsAt": started,
            "fingerprint": fingerprint,
        }
    )
    note = event_note(alert_event(alert))
    assert note is not None
    return note


async def test_a_stop_loss_is_one_notification_however_often_it_is_delivered(
    redis: Redis, webhook: WebhookServer
) -> None:
    sender = notifier(redis, [webhook.url])
    note = execution_note(fill("d1", "close", reason="stop-loss", realized_pnl=-12.5))
    assert note is not None and note.kind == "stop_loss"
    outcomes = [await sender.send(note) for _ in range(3)]
    assert outcomes == ["sent", "duplicate", "duplicate"]
    [received] = webhook.received
    assert received["title"].startswith("Stop-loss: closed long 1 BTC/USDT:USDT, PnL -12.50")
    assert "Reason: stop-loss" in received["message"]


async def test_a_flapping_alert_notifies_once_per_cooldown(redis: Redis, webhook: WebhookServer) -> None:
    sender = notifier(redis, [webhook.url])
    outcomes = []
    for minute in range(10):  # fires and resolves every minute: 20 webhook calls from Alertmanager
        outcomes.append(await sender.send(flapping("f00d", f"2025-01-01T00:{minute:02d}:00Z")))
        outcomes.append(await sender.send(flapping("f00d", f"2025-01-01T00:{minute:02d}:00Z", "resolved")))
    assert outcomes.count("sent") == 2  # the first firing and the first resolution
    assert outcomes.count("cooldown") == 18
    assert webhook.titles() == ["[FIRING] ServiceDown", "[RESOLVED] ServiceDown"]
    assert await sender.send(flapping("beef", "2025-01-01T00:00:00Z")) == "sent"  # another alert is not held


async def test_the_hourly_budget_holds_back_all_but_critical_notes(redis: Redis, webhook: WebhookServer) -> None:
    sender = notifier(redis, [webhook.url], max_per_hour=3)
    notes = [execution_note(fill(f"d{i}")) for i in range(5)]
    outcomes = [await sender.send(note) for note in notes if note is not None]
    assert outcomes == ["sent", "sent", "sent", "rate_limited", "rate_limited"]
    liquidation = execution_note(fill("d9", "close", reason="liquidation"))
    assert liquidation is not None and liquidation.severity == "critical"
    assert await sender.send(liquidation) == "sent"
    assert len(webhook.received) == 4


async def test_a_failed_delivery_is_retried_and_then_sent_once(redis: Redis, webhook: WebhookServer) -> None:
    sender = notifier(redis, [webhook.url])
    note = execution_note(fill("d1"))
    assert note is not None
    webhook.failing = True
    with pytest.raises(NotificationFailed):
        await sender.send(note)
    webhook.failing = False
    assert await sender.send(note) == "sent"  # the redelivered entry: the claim was released
    assert await sender.send(note) == "duplicate"
    assert len(webhook.received) == 1


async def test_a_note_being_sent_elsewhere_is_retried_not_dropped(redis: Redis, webhook: WebhookServer) -> None:
    sender = notifier(redis, [webhook.url])
    note = execution_note(fill("d1"))
    assert note is not None
    await redis.set(f"tp:notify:sent:{note.key}", b"pending", ex=60)  # a sender killed mid-send holds it
    with pytest.raises(NotificationFailed, match="being sent elsewhere"):
        await sender.send(note)
    assert webhook.received == []


async def test_without_urls_nothing_is_sent(redis: Redis) -> None:
    note = execution_note(fill("d1"))
    assert note is not None
    assert await notifier(redis, []).send(note) == "disabled"


def test_a_bad_url_is_refused_without_showing_it() -> None:
    secret = "s3cret-bot-token-1234"
    with pytest.raises(ConfigurationError) as refused:
        load_targets(["json://127.0.0.1:9/hook", f"nosuchscheme://{secret}/chat"])
    assert "entry 2 of 2" in str(refused.value)
    assert secret not in str(refused.value)


def test_what_is_worth_a_note() -> None:
    assert execution_note(fill("d1", status="rejected", price=0, fee=0)) is None
    take_profit = execution_note(fill("d1", "close", reason="take-profit", realized_pnl=20))
    assert take_profit is not None and (take_profit.kind, take_profit.severity) == ("take_profit", "info")
    assert take_profit.key == "order:tpcd1"
