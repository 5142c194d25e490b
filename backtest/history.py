"""History on disk: candles and funding rates as Parquet, one file per exchange / timeframe / symbol.

Layout under the history directory (``DATA_DIR/history`` unless told otherwise)::

    <exchange>/<timeframe>/<BASE_QUOTE_SETTLE>.parquet   ts, open, high, low, close, volume
    <exchange>/funding/<BASE_QUOTE_SETTLE>.parquet        ts, rate

Invariants: rows sorted by ``ts`` (ms, the candle's open), no ``ts`` twice, only closed candles. Every
write goes to a temporary file in the same folder and is then renamed over the old one (``os.replace``),
so a reader, a crash or a Ctrl-C sees the old file or the new one, never half of either. This module is
the one reader backtests use.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shared.errors import BadRequestError
from shared.gateway.models import TIMEFRAME_MS

CANDLE_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
FUNDING_COLUMNS = ("ts", "rate")
# Fixed-length intervals only: 3d, 1w and 1M do not tile a range evenly (weeks start on Monday, months vary).
STORABLE = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")


def timeframe_ms(timeframe: str) -> int:
    if timeframe not in STORABLE:
        raise BadRequestError(f"timeframe {timeframe!r} cannot be stored: use one of {', '.join(STORABLE)}")
    return TIMEFRAME_MS[timeframe]


def file_name(symbol: str) -> str:
    """``BTC/USDT:USDT`` -> ``BTC_USDT_USDT.parquet``; refuses anything that could leave the folder."""
    name = symbol.replace("/", "_").replace(":", "_")
    if not name or not all(c.isalnum() or c in "_-." for c in name) or name.startswith("."):
        raise BadRequestError(f"symbol {symbol!r} cannot name a file")
    return f"{name}.parquet"


def symbol_of(path: Path) -> str:
    """The inverse of :func:`file_name` for the unified swap form ``BASE/QUOTE:SETTLE``."""
    parts = path.stem.split("_")
    return f"{parts[0]}/{parts[1]}:{parts[2]}" if len(parts) == 3 else path.stem


@dataclass(frozen=True)
class Store:
    """Where one exchange's history lives."""

    root: Path
    exchange: str

    def candles_path(self, timeframe: str, symbol: str) -> Path:
        timeframe_ms(timeframe)
        return self.root / self.exchange / timeframe / file_name(symbol)

    def funding_path(self, symbol: str) -> Path:
        return self.root / self.exchange / "funding" / file_name(symbol)

    def symbols(self, timeframe: str) -> list[str]:
        folder = self.root / self.exchange / timeframe
        return sorted(symbol_of(p) for p in folder.glob("*.parquet")) if folder.is_dir() else []


@dataclass(frozen=True)
class Candles:
    """One symbol's candles as columns (float64; ``ts`` int64), oldest first."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def empty(cls) -> Candles:
        return cls.from_rows(np.empty((0, 6)))

    @classmethod
    def from_rows(cls, rows: np.ndarray | list[list[float]] | tuple[tuple[float, ...], ...]) -> Candles:
        data = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls(data[:, 0].astype(np.int64), *(np.ascontiguousarray(data[:, i]) for i in range(1, 6)))

    def rows(self) -> np.ndarray:
        """``[ts, open, high, low, close, volume]`` rows, as the gateway and ia1 read candles."""
        return np.column_stack([self.ts.astype(np.float64), self.open, self.high, self.low, self.close, self.volume])

    def between(self, start_ms: int | None, end_ms: int | None) -> Candles:
        """Candles opening in ``[start_ms, end_ms)``."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.ts, start_ms, "left"))
        hi = len(self.ts) if end_ms is None else int(np.searchsorted(self.ts, end_ms, "left"))
        return Candles(*(column[lo:hi] for column in self.columns()))

    def columns(self) -> tuple[np.ndarray, ...]:
        return self.ts, self.open, self.high, self.low, self.close, self.volume


# -- reading and writing -----------------------------------------------------------------------------


def _read(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    # One small file: the plain reader without threads (read_table's dataset layer and thread pool cost more)
    table = pq.ParquetFile(path).read(columns=list(columns), use_threads=False)
    return {name: table.column(name).to_numpy() for name in columns}


def read_candles(path: Path) -> Candles:
    data = _read(path, CANDLE_COLUMNS)
    if data is None:
        return Candles.empty()
    return Candles(data["ts"].astype(np.int64), *(np.asarray(data[c], dtype=np.float64) for c in CANDLE_COLUMNS[1:]))


def read_funding(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times in ms, rates) of the stored funding, oldest first; empty when none was downloaded."""
    data = _read(path, FUNDING_COLUMNS)
    if data is None:
        return np.empty(0, dtype=np.int64), np.empty(0)
    return data["ts"].astype(np.int64), np.asarray(data["rate"], dtype=np.float64)


def _write_atomic(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, path)
    except BaseException:  # Ctrl-C included: the old file stays as it was
        Path(temporary).unlink(missing_ok=True)
        raise


def merge(old: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows of both (column 0 the time), sorted, one per time (the newer copy wins); and how many times
    appeared more than once."""
    both = np.concatenate([old, new]) if len(old) else new
    if not len(both):
        return both, 0
    order = np.argsort(both[:, 0], kind="stable")
    ordered = both[order]
    # keep the last of each run of equal times: the newer download
    last_of_run = np.append(ordered[1:, 0] != ordered[:-1, 0], True)
    return ordered[last_of_run], int(len(ordered) - last_of_run.sum())


def write_candles(path: Path, new: np.ndarray) -> int:
    """Merge ``new`` rows ``[ts, o, h, l, c, v]`` into the file; the number of duplicate times met."""
    merged, duplicates = merge(read_candles(path).rows(), np.asarray(new, dtype=np.float64).reshape(-1, 6))
    arrays = [pa.array(merged[:, 0].astype(np.int64))] + [pa.array(merged[:, i]) for i in range(1, 6)]
    _write_atomic(path, pa.table(arrays, names=list(CANDLE_COLUMNS)))
    return duplicates


def write_funding(path: Path, new: np.ndarray) -> int:
    """Merge ``new`` rows ``[ts, rate]`` into the file; the number of duplicate times met."""
    times, rates = read_funding(path)
    old = np.column_stack([times.astype(np.float64), rates]) if len(times) else np.empty((0, 2))
    merged, duplicates = merge(old, np.asarray(new, dtype=np.float64).reshape(-1, 2))
    _write_atomic(
        path, pa.table([pa.array(merged[:, 0].astype(np.int64)), pa.array(merged[:, 1])], names=["ts", "rate"])
    )
    return duplicates


# -- what is missing -----------------------------------------------------------------------------------


def gaps(ts: np.ndarray, step_ms: int) -> list[tuple[int, int]]:
    """Missing runs inside a series: ``(first missing open, next present open)`` pairs."""
    if len(ts) < 2:
        return []
    jumps = np.flatnonzero(np.diff(ts) > step_ms)
    return [(int(ts[i]) + step_ms, int(ts[i + 1])) for i in jumps]


def missing_ranges(ts: np.ndarray, start_ms: int, end_ms: int, step_ms: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of candle opens in ``[start_ms, end_ms)`` that the stored ``ts`` lack:
    before the first stored candle, inside (gaps), and after the last."""
    inside = ts[(ts >= start_ms) & (ts < end_ms)]
    if not len(inside):
        return [(start_ms, end_ms)] if start_ms < end_ms else []
    ranges = []
    if inside[0] > start_ms:
        ranges.append((start_ms, int(inside[0])))
    ranges.extend(gaps(inside, step_ms))
    if int(inside[-1]) + step_ms < end_ms:
        ranges.append((int(inside[-1]) + step_ms, end_ms))
    return ranges
