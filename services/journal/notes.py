"""What is worth a notification, and how it reads: one function per message type, None for the rest.

Notified: positions opened, positions closed with their PnL (a stop-loss, a take-profit and a liquidation
each say so), halts and the kill switch (set and cleared), reconciliation discrepancies, Prometheus alerts
(firing and resolved). Not: refused orders, equity snapshots, funding. Keys derive from the message ids, so
a redelivered message is the same note.
"""

from __future__ import annotations

from services.journal.notifier import Note
from shared.contracts import AccountEvent, Execution, Severity


def _close_kind(reason: str) -> tuple[str, str, Severity]:
    """(kind, title prefix, severity) of a close, from the reason execution gave."""
    lowered = reason.lower()
    if "liquidat" in lowered:
        return "liquidation", "Liquidated", "critical"
    if "stop" in lowered:
        return "stop_loss", "Stop-loss", "warning"
    if "take-profit" in lowered or "take profit" in lowered:
        return "take_profit", "Take-profit", "info"
    return "position_closed", "Closed", "info"


def execution_note(execution: Execution) -> Note | None:
    if execution.status != "filled":
        return None
    where = f"{execution.side} {execution.quantity:g} {execution.symbol}"
    if execution.kind == "open":
        return Note(
            kind="position_opened",
            key=f"order:{execution.client_order_id}",
            title=f"Opened {where}",
            body=f"{where} at {execution.price:g} ({execution.mode}), fee {execution.fee:.4f}",
        )
    kind, prefix, severity = _close_kind(execution.reason)
    return Note(
        kind=kind,
        key=f"order:{execution.client_order_id}",
        title=f"{prefix}: closed {where}, PnL {execution.realized_pnl:+.2f}",
        body=(
            f"{where} closed at {execution.price:g} ({execution.mode}): PnL {execution.realized_pnl:+.4f}, "
            f"fee {execution.fee:.4f}. Reason: {execution.reason or 'unspecified'}"
        ),
        severity=severity,
    )


_FLAGS: dict[str, tuple[str, Severity]] = {
    "halt": ("Trading halted", "critical"),
    "halt_cleared": ("Halt reset: new entries allowed again", "warning"),
    "kill_switch": ("Kill switch ON: no new orders", "critical"),
    "kill_switch_cleared": ("Kill switch off: trading resumes", "warning"),
}


def event_note(event: AccountEvent) -> Note | None:
    key = f"event:{event.message_id}"
    if event.kind in _FLAGS:
        title, flag_severity = _FLAGS[event.kind]
        return Note(kind=event.kind, key=key, title=title, body=event.reason or title, severity=flag_severity)
    if event.kind == "reconciliation" and event.discrepancy is not None:
        found = event.discrepancy
        subject = f"{found.subject}{f' {event.symbol}' if event.symbol else ''}"
        body = f"{subject}: ours {found.ours}, exchange {found.exchange}. {found.resolution or event.reason}".strip()
        severity: Severity = "critical" if event.severity == "critical" else "warning"
        return Note(kind="reconciliation", key=key, title=f"Reconciliation: {subject}", body=body, severity=severity)
    if event.kind == "alert" and event.alert is not None:
        alert = event.alert
        return Note(
            kind="alert",
            key=key,
            title=f"[{alert.status.upper()}] {alert.name}",
            body=event.reason or alert.name,
            severity=event.severity if alert.status == "firing" else "info",
            topic=f"alert:{alert.fingerprint}:{alert.status}",
        )
    return None
