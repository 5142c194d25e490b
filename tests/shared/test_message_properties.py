"""Property-based: whatever bytes arrive on a stream, decoding gives a valid message or a MessageError.

Never another exception (that would crash a consumer instead of dead-lettering the entry), and
never a message holding a NaN, an infinity or a non-positive price.
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts import AccountEvent, Decision, Opportunity
from shared.errors import MessageError
from shared.messages import decode, encode

FIELD_NAMES = st.sampled_from([b"type", b"v", b"data", b"extra"])
SYMBOLS = st.from_regex(r"[A-Z0-9]{2,8}/USDT:USDT", fullmatch=True)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**30), 10**30), st.text(max_size=5), st.none()
)


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(FIELD_NAMES, st.binary(max_size=300), max_size=4))
def test_random_bytes_decode_or_raise_message_error(fields: dict[bytes, bytes]) -> None:
    with contextlib.suppress(MessageError):  # anything else fails the test
        decode(fields, Opportunity)


@settings(max_examples=300, deadline=None)
@given(price=NUMBERS, quantity=NUMBERS, confidence=NUMBERS, symbol=st.one_of(SYMBOLS, st.text(max_size=12)))
def test_numbers_of_any_kind_never_make_an_invalid_decision(
    price: Any, quantity: Any, confidence: Any, symbol: str
) -> None:
    payload = {
        "analysis_id": "a1", "opportunity_id": "o1", "symbol": symbol, "action": "open", "side": "long",
        "quantity": quantity, "entry_price": price, "stop_loss": 1.0, "take_profit": 2.0,
        "confidence": confidence, "required_confidence": 0.5, "reasons": ["r"],
    }  # fmt: skip
    data = json.dumps(payload, allow_nan=True).encode()  # NaN and Infinity literals, as a foreign writer might
    fields = {b"type": b"decision", b"v": b"1", b"data": data}
    try:
        decision = decode(fields, Decision)
    except MessageError:
        return
    assert math.isfinite(decision.entry_price) and decision.entry_price > 0
    assert math.isfinite(decision.quantity) and decision.quantity > 0
    assert 0 <= decision.confidence <= 1


@settings(max_examples=200, deadline=None)
@given(
    symbol=SYMBOLS,
    price=st.floats(min_value=1e-9, max_value=1e9),
    score=st.floats(-1e6, 1e6),
    rank=st.integers(1, 10_000),
)
def test_valid_messages_survive_the_round_trip(symbol: str, price: float, score: float, rank: int) -> None:
    message = Opportunity(
        scan_id="s", symbol=symbol, rank=rank, score=score, price=price, change_pct_24h=0.0,
        quote_volume_24h=1.0, volatility_pct=1.0, spread_bps=1.0,
    )  # fmt: skip
    raw = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in encode(message).items()}
    assert decode(raw, Opportunity) == message


@pytest.mark.parametrize("version", [b"0", b"2", b"99"])
def test_unknown_versions_are_refused_with_the_reason(version: bytes) -> None:
    fields = {b"type": b"opportunity", b"v": version, b"data": orjson.dumps({})}
    with pytest.raises(MessageError, match="not supported"):
        decode(fields, Opportunity)


EVENT_KINDS = st.one_of(
    st.sampled_from(["equity", "halt", "kill_switch", "reconciliation", "funding", "alert"]), st.text(max_size=8)
)


@settings(max_examples=300, deadline=None)
@given(
    kind=EVENT_KINDS,
    amount=NUMBERS,
    equity=st.one_of(st.none(), st.fixed_dictionaries({"equity": NUMBERS, "cash": NUMBERS, "drawdown": NUMBERS})),
    decision_id=st.one_of(st.none(), st.text(max_size=70)),
)
def test_account_events_decode_complete_and_finite_or_raise_message_error(
    kind: Any, amount: Any, equity: Any, decision_id: Any
) -> None:
    payload = {"kind": kind, "amount": amount, "equity": equity, "decision_id": decision_id, "symbol": "BTC/USDT:USDT"}
    fields = {b"type": b"account_event", b"v": b"1", b"data": json.dumps(payload, allow_nan=True).encode()}
    try:
        event = decode(fields, AccountEvent)
    except MessageError:
        return
    if event.kind == "funding":
        assert event.amount is not None and math.isfinite(event.amount) and event.decision_id
    if event.kind == "equity":
        assert event.equity is not None and math.isfinite(event.equity.equity) and 0 <= event.equity.drawdown <= 1
