"""BingX's response envelope and the error codes the simulator answers with (ccxt maps each code)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.responses import JSONResponse

RATE_LIMITED = 100410  # ccxt: OperationFailed, "rate limit reached"
AUTH_FAILED = 100001  # AuthenticationError
INSUFFICIENT_MARGIN = 101204  # InsufficientFunds
INVALID_ORDER = 101400  # InvalidOrder
NO_POSITION = 101205  # InvalidOrder: "No position to close"
MIN_NOTIONAL = 110425  # InvalidOrder: below the 2 USDT minimum notional
DUPLICATE_ORDER = 101481  # DuplicateOrderId
ORDER_NOT_FOUND = 80016  # OrderNotFound
BAD_REQUEST = 109400  # BadRequest; also a position side the position mode refuses, a mode change
# refused while positions or orders are open, and a leverage out of range (BingX answers those with it)
BAD_SYMBOL = 109425  # BadSymbol


class SimError(Exception):
    def __init__(self, code: int, msg: str, status: int = 200) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status


def ok(data: Any) -> dict[str, Any]:
    return {"code": 0, "msg": "", "data": data}


def error_response(error: SimError) -> JSONResponse:
    body = {"code": error.code, "msg": error.msg, "timestamp": int(time.time() * 1000), "data": {}}
    return JSONResponse(body, status_code=error.status)
