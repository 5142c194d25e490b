"""Alertmanager's webhook (payload version 4) turned into ``alert`` account events on ``stream:events``.

The stream is the buffer: the journal stores each event and the notifier sends it (deduplicated, cooled
down per alert), with the same retries as everything else. An alert's event id derives from its
fingerprint, state and start, so Alertmanager repeating a notification (its repeat_interval, or a retry
after a timeout) is the same event, while each new firing of a flapping alert is a new one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import AccountEvent, AlertInfo, Severity
from shared.messages import derived_message_id

Text = Annotated[str, Field(max_length=4_000)]
Labels = Annotated[dict[Annotated[str, Field(max_length=200)], Text], Field(max_length=100)]


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"] = Field(description="the alert's state")
    labels: Labels = Field(default_factory=dict, description="alertname, severity and the rule's other labels")
    annotations: Labels = Field(default_factory=dict, description="summary and description, for the note")
    starts_at: datetime = Field(alias="startsAt", description="when it started firing")
    fingerprint: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", description="Alertmanager's id of the alert"
    )


class WebhookPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = Field("4", max_length=8, description="the webhook payload's version (4)")
    status: Literal["firing", "resolved"] = Field("firing", description="the group's state")
    receiver: str = Field("", max_length=200, description="the Alertmanager receiver that sent it")
    alerts: list[WebhookAlert] = Field(max_length=1_000, description="the alerts of the group")


def _severity(labels: dict[str, str]) -> Severity:
    value = labels.get("severity", "warning").lower()
    return value if value in ("info", "warning", "critical") else "warning"  # type: ignore[return-value]


def alert_event(alert: WebhookAlert) -> AccountEvent:
    started = alert.starts_at.timestamp()
    name = alert.labels.get("alertname") or "unnamed alert"
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or name
    return AccountEvent(
        message_id=derived_message_id(f"{alert.fingerprint}:{alert.status}:{started}", "alert"),
        kind="alert",
        severity=_severity(alert.labels),
        reason=summary[:500],
        alert=AlertInfo(
            name=name[:200], status=alert.status, fingerprint=alert.fingerprint, started_at=max(0.0, started)
        ),
    )
