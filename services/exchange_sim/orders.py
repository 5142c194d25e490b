"""Orders as BingX's perpetual API takes and shows them: parsing a create request, rendering an order.

Types (``type`` as ccxt 4.5.90 sends it):

- ``MARKET``: fills at once at the book (buys at the ask, sells at the bid), taker fee.
- ``LIMIT``: fills at once (taker) if marketable, else rests and fills at its price when the mark
  reaches it (maker). ``timeInForce`` GTC (default), ``PostOnly`` (refused if marketable), IOC / FOK
  (cancelled if not marketable at once).
- Trigger orders fire when the mark price reaches ``stopPrice`` (``workingType`` is accepted; in this
  market the mark, the last trade and the index are the same path):
  ``STOP_MARKET`` (a BUY fires at or above, a SELL at or below), ``TAKE_PROFIT_MARKET`` (the opposite),
  ``TRIGGER_MARKET`` (whichever way the stop lies from the mark at placement) fill as market orders at
  the stop price; ``STOP``, ``TAKE_PROFIT`` and ``TRIGGER_LIMIT`` become a ``LIMIT`` at ``price``.
  A ``STOP``/``TAKE_PROFIT`` whose stop is already reached is refused (it would fire at once).
- ``TRAILING_STOP_MARKET``: ``price`` is the trailing distance in quote, or ``priceRate`` a fraction
  (ccxt sends ``trailingPercent / 100``); a SELL trails the highest mark since activation and fires
  that distance below it, a BUY the lowest and fires above. ``activationPrice`` (optional) arms it when
  the mark reaches it (SELL: at or above, BUY: at or below).
- ``stopLoss`` / ``takeProfit`` (JSON, on an opening order): when the entry fills they become
  reduce-only ``STOP_MARKET`` / ``TAKE_PROFIT_MARKET`` orders (or the limit types given) for the
  entry's quantity unless one is given, on the same position side.
- ``reduceOnly`` never grows a position; ``closePosition`` closes the whole position when it fills.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from services.exchange_sim.errors import BAD_REQUEST, INVALID_ORDER, MIN_NOTIONAL, SimError
from services.exchange_sim.market import SymbolSpec

MIN_NOTIONAL_USDT = 2.0
MARKET_ON_TRIGGER = {"STOP_MARKET", "TAKE_PROFIT_MARKET", "TRIGGER_MARKET"}
LIMIT_ON_TRIGGER = {"STOP", "TAKE_PROFIT", "TRIGGER_LIMIT"}
TRAILING = "TRAILING_STOP_MARKET"
TRIGGER_TYPES = MARKET_ON_TRIGGER | LIMIT_ON_TRIGGER | {TRAILING}
ORDER_TYPES = {"MARKET", "LIMIT"} | TRIGGER_TYPES
PRICED_TYPES = {"LIMIT"} | LIMIT_ON_TRIGGER
STOP_FAMILY = {"STOP_MARKET", "STOP", TRAILING}  # stops go first when several fire at one instant
ATTACHED = {  # name -> (default type, allowed types)
    "stopLoss": ("STOP_MARKET", {"STOP_MARKET", "STOP"}),
    "takeProfit": ("TAKE_PROFIT_MARKET", {"TAKE_PROFIT_MARKET", "TAKE_PROFIT"}),
}
OPEN_STATUSES = {"NEW"}

_order_ids = itertools.count(1_900_000_000_000_000_000)


def next_id() -> int:
    return next(_order_ids)


@dataclass
class SimOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY | SELL
    position_side: str  # BOTH | LONG | SHORT
    type: str
    quantity: float  # 0 with closePosition: the whole position when it fills
    time: int
    price: float = 0.0  # limit price
    stop_price: float = 0.0
    working_type: str = "MARK_PRICE"
    time_in_force: str = "GTC"
    reduce_only: bool = False
    close_position: bool = False
    trail_amount: float = 0.0
    trail_rate: float = 0.0
    activation_price: float = 0.0
    trail_extreme: float = 0.0  # best mark since the trailing stop was armed; 0 while not armed
    trigger_direction: str = ""  # "up" / "down": how the mark must cross stop_price to fire
    triggered: bool = False  # a limit-type trigger order that fired and now rests as a limit
    attached: dict[str, dict[str, Any]] = field(default_factory=dict)  # stopLoss / takeProfit specs
    parent_id: int = 0
    leverage: int = 0
    status: str = "NEW"
    executed_qty: float = 0.0
    avg_price: float = 0.0
    commission: float = 0.0
    profit: float = 0.0
    liquidation: bool = False
    update_time: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def waiting_trigger(self) -> bool:
        return self.is_open and self.type in TRIGGER_TYPES and not self.triggered

    @property
    def resting_limit(self) -> bool:
        return self.is_open and (self.type == "LIMIT" or self.triggered)

    @property
    def sign(self) -> int:
        return 1 if self.side == "BUY" else -1

    def closes(self, hedged: bool) -> bool:
        """Whether the order can only reduce: reduce-only, close-position, or a hedge-mode close."""
        hedge_close = hedged and (self.side, self.position_side) in (("SELL", "LONG"), ("BUY", "SHORT"))
        return self.reduce_only or self.close_position or hedge_close

    def trail_level(self) -> float:
        """Where an armed trailing stop fires now."""
        if self.trail_amount:
            return self.trail_extreme + self.sign * self.trail_amount
        return self.trail_extreme * (1 + self.sign * self.trail_rate)

    def as_bingx(self) -> dict[str, Any]:
        return {
            "orderId": str(self.order_id),
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": self.position_side,
            "type": self.type,
            "origQty": f"{self.quantity}",
            "price": f"{self.price}",
            "executedQty": f"{self.executed_qty}",
            "avgPrice": f"{self.avg_price}",
            "cumQuote": f"{self.executed_qty * self.avg_price}",
            "stopPrice": f"{self.stop_price}" if self.stop_price else "",
            "profit": f"{self.profit:.8f}",
            "commission": f"{-self.commission:.8f}",
            "status": self.status,
            "time": self.time,
            "updateTime": self.update_time or self.time,
            "clientOrderId": self.client_order_id,
            "clientOrderID": self.client_order_id,
            "leverage": f"{self.leverage}X" if self.leverage else "",
            "stopLoss": _attached_view(self.attached.get("stopLoss")),
            "takeProfit": _attached_view(self.attached.get("takeProfit")),
            "workingType": self.working_type,
            "timeInForce": self.time_in_force,
            "reduceOnly": self.reduce_only,
            "closePosition": self.close_position,
            "priceRate": f"{self.trail_rate}" if self.trail_rate else "",
            "activationPrice": f"{self.activation_price}" if self.activation_price else "",
            "triggerOrderId": str(self.parent_id) if self.parent_id else "",
            "autoCloseType": "LIQUIDATION" if self.liquidation else "",
        }


def _attached_view(spec: dict[str, Any] | None) -> dict[str, Any]:
    spec = spec or {}
    return {
        "type": spec.get("type", ""),
        "quantity": spec.get("quantity", 0),
        "stopPrice": spec.get("stopPrice", 0),
        "price": spec.get("price", 0),
        "workingType": spec.get("workingType", ""),
        "stopGuaranteed": "",
    }


# -- parsing a create request -------------------------------------------------------------------------------


def positive_number(params: dict[str, str], name: str, *, required: bool) -> float:
    text = params.get(name)
    if text in (None, ""):
        if required:
            raise SimError(BAD_REQUEST, f"{name} is required")
        return 0.0
    try:
        value = float(text)
    except ValueError:
        raise SimError(BAD_REQUEST, f"{name} is not a number") from None
    if not 0 < value < float("inf"):
        raise SimError(BAD_REQUEST, f"{name} must be a positive number")
    return value


def _flag(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise SimError(BAD_REQUEST, f"{name} must be true or false")
    return value == "true"


def _attached(params: dict[str, str], name: str, spec: SymbolSpec) -> dict[str, Any] | None:
    text = params.get(name)
    if not text:
        return None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError:
        raise SimError(BAD_REQUEST, f"{name} must be a JSON object") from None
    if not isinstance(raw, dict):
        raise SimError(BAD_REQUEST, f"{name} must be a JSON object")
    default_type, allowed = ATTACHED[name]
    kind = str(raw.get("type") or default_type).upper()
    if kind not in allowed:
        raise SimError(BAD_REQUEST, f"{name}.type must be one of {sorted(allowed)}")
    fields = {k: str(v) for k, v in raw.items() if k in ("stopPrice", "price", "quantity")}
    out: dict[str, Any] = {"type": kind, "stopPrice": positive_number(fields, "stopPrice", required=True)}
    out["workingType"] = str(raw.get("workingType") or "MARK_PRICE")
    out["quantity"] = positive_number(fields, "quantity", required=False)
    out["price"] = positive_number(fields, "price", required=kind in PRICED_TYPES)
    return out


def parse_create(params: dict[str, str], spec: SymbolSpec, now_ms: int) -> SimOrder:
    """A new order from the query string of ``POST /swap/v2/trade/order``; SimError if malformed."""
    side = params.get("side", "").upper()
    kind = params.get("type", "").upper()
    if side not in ("BUY", "SELL"):
        raise SimError(BAD_REQUEST, "side must be BUY or SELL")
    if kind not in ORDER_TYPES:
        raise SimError(BAD_REQUEST, f"type must be one of {', '.join(sorted(ORDER_TYPES))}")
    position_side = params.get("positionSide", "BOTH").upper()
    if position_side not in ("BOTH", "LONG", "SHORT"):
        raise SimError(BAD_REQUEST, "positionSide must be BOTH, LONG or SHORT")
    client_id = params.get("clientOrderID") or params.get("clientOrderId") or ""
    if client_id and (len(client_id) > 40 or not client_id.replace("_", "").isalnum()):
        raise SimError(BAD_REQUEST, "clientOrderID must be 1-40 letters, digits or underscores")
    close_position = _flag(params, "closePosition")
    order = SimOrder(
        order_id=next_id(),
        client_order_id=client_id,
        symbol=spec.exchange_id,
        side=side,
        position_side=position_side,
        type=kind,
        quantity=0.0 if close_position else positive_number(params, "quantity", required=True),
        time=now_ms,
        price=positive_number(params, "price", required=kind in PRICED_TYPES) if kind != TRAILING else 0.0,
        stop_price=positive_number(params, "stopPrice", required=kind in TRIGGER_TYPES - {TRAILING}),
        working_type=params.get("workingType", "MARK_PRICE").upper(),
        time_in_force=params.get("timeInForce", "GTC"),
        reduce_only=_flag(params, "reduceOnly"),
        close_position=close_position,
        update_time=now_ms,
    )
    if kind == TRAILING:
        order.trail_amount = positive_number(params, "price", required=False)
        order.trail_rate = positive_number(params, "priceRate", required=False)
        order.activation_price = positive_number(params, "activationPrice", required=False)
        if not order.trail_amount and not 0 < order.trail_rate <= 0.1:
            raise SimError(BAD_REQUEST, "a trailing stop needs price (distance) or priceRate in (0, 0.1]")
    if order.time_in_force not in ("GTC", "PostOnly", "IOC", "FOK"):
        raise SimError(BAD_REQUEST, "timeInForce must be GTC, PostOnly, IOC or FOK")
    for name in ("stopLoss", "takeProfit"):
        attached = _attached(params, name, spec)
        if attached is not None:
            order.attached[name] = attached
    _check_size(order, spec)
    return order


def _check_size(order: SimOrder, spec: SymbolSpec) -> None:
    step = 10**-spec.quantity_decimals
    if order.quantity and order.quantity < step * (1 - 1e-9):
        raise SimError(INVALID_ORDER, f"The minimum order amount is {step:.{spec.quantity_decimals}f} {spec.base}.")
    reference = order.price or order.stop_price
    if reference and order.quantity and not order.reduce_only and order.quantity * reference < MIN_NOTIONAL_USDT:
        raise SimError(
            MIN_NOTIONAL, "Please ensure that the minimum nominal value of the order placed must be greater than 2u"
        )


def trigger_direction(order: SimOrder, mark: float) -> str:
    """How the mark must cross ``stop_price`` for ``order`` to fire: "up" (at or above) or "down"."""
    if order.type in ("STOP_MARKET", "STOP"):
        return "up" if order.side == "BUY" else "down"
    if order.type in ("TAKE_PROFIT_MARKET", "TAKE_PROFIT"):
        return "down" if order.side == "BUY" else "up"
    if order.type in ("TRIGGER_MARKET", "TRIGGER_LIMIT"):
        return "up" if order.stop_price >= mark else "down"
    return ""


def reached(direction: str, level: float, price: float) -> bool:
    return price >= level if direction == "up" else price <= level
