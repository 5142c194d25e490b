"""Benchmark B6's peer: freqtrade backtesting the same candles, in its own scratch virtualenv.

Run with that venv's Python (``make bench-peers`` installs it): converts our Parquet candles into
freqtrade's feather files, writes a config, an EMA-cross + RSI strategy with a stop-loss (the shape of
freqtrade's sample strategies), gives ccxt its market list offline (freqtrade loads markets at start and
this machine has no exchange to ask), and runs ``freqtrade backtesting``. Imports nothing of ours.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

STRATEGY = """
import talib.abstract as ta
from pandas import DataFrame
from freqtrade.strategy import IStrategy


class EmaRsi(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "{timeframe}"
    minimal_roi = {{"0": 100}}
    stoploss = -0.05
    startup_candle_count = 30

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["ema_fast"] = ta.EMA(dataframe, timeperiod=12)
        dataframe["ema_slow"] = ta.EMA(dataframe, timeperiod=26)
        dataframe["rsi"] = ta.RSI(dataframe, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        cross_up = (dataframe["ema_fast"] > dataframe["ema_slow"]) & (
            dataframe["ema_fast"].shift(1) <= dataframe["ema_slow"].shift(1)
        )
        dataframe.loc[cross_up & (dataframe["rsi"] < 70) & (dataframe["volume"] > 0), "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        cross_down = (dataframe["ema_fast"] < dataframe["ema_slow"]) & (
            dataframe["ema_fast"].shift(1) >= dataframe["ema_slow"].shift(1)
        )
        dataframe.loc[cross_down | (dataframe["rsi"] > 80), "exit_long"] = 1
        return dataframe
"""


def market(pair: str) -> dict[str, Any]:
    base, quote = pair.split("/")
    return {
        "id": f"{base}{quote}", "symbol": pair, "base": base, "quote": quote, "baseId": base, "quoteId": quote,
        "active": True, "type": "spot", "spot": True, "margin": False, "swap": False, "future": False,
        "option": False, "contract": False, "linear": None, "inverse": None, "taker": 0.0005, "maker": 0.0002,
        "precision": {"amount": 1e-8, "price": 1e-8}, "limits": {"amount": {"min": 1e-8, "max": None},
        "price": {"min": None, "max": None}, "cost": {"min": 1.0, "max": None}, "leverage": {"min": 1, "max": 1}},
        "info": {},
    }  # fmt: skip


def offline_markets(pairs: list[str]) -> None:
    """ccxt's binance answers load_markets from this list instead of the network."""
    import ccxt  # noqa: PLC0415
    import ccxt.async_support as ccxt_async  # noqa: PLC0415

    markets = [market(p) for p in pairs]

    def load_sync(self: Any, reload: bool = False, params: Any = None) -> Any:
        self.set_markets(markets)
        return self.markets

    async def load_async(self: Any, reload: bool = False, params: Any = None) -> Any:
        self.set_markets(markets)
        return self.markets

    ccxt.binance.load_markets = load_sync
    ccxt_async.binance.load_markets = load_async


def prepare(parquet_dir: Path, timeframe: str, work: Path) -> list[str]:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415
    from pyarrow import feather  # noqa: PLC0415

    data = work / "user_data" / "data" / "binance"
    data.mkdir(parents=True, exist_ok=True)
    pairs = []
    for path in sorted(parquet_dir.glob("*.parquet")):
        base, quote, _ = path.stem.split("_")
        table = pq.read_table(path)
        dates = pa.array(table.column("ts").to_numpy().astype("datetime64[ms]")).cast(pa.timestamp("ms", tz="UTC"))
        columns = [dates, *(table.column(c).cast(pa.float64()) for c in ("open", "high", "low", "close", "volume"))]
        out = pa.table(columns, names=["date", "open", "high", "low", "close", "volume"])
        feather.write_feather(out, data / f"{base}_{quote}-{timeframe}.feather", compression="lz4")
        pairs.append(f"{base}/{quote}")
    (work / "strategies").mkdir(exist_ok=True)
    (work / "strategies" / "ema_rsi.py").write_text(STRATEGY.format(timeframe=timeframe))
    config = {
        "exchange": {"name": "binance", "pair_whitelist": pairs, "pair_blacklist": [], "skip_pair_validation": True},
        "stake_currency": "USDT", "stake_amount": "unlimited", "tradable_balance_ratio": 0.99,
        "dry_run": True, "dry_run_wallet": 10000, "max_open_trades": 5, "timeframe": timeframe,
        "trading_mode": "spot", "dataformat_ohlcv": "feather", "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "same"}, "exit_pricing": {"price_side": "same"},
        "user_data_dir": str(work / "user_data"), "datadir": str(data),
    }  # fmt: skip
    (work / "config.json").write_text(json.dumps(config))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parquet-dir", type=Path, required=True)
    parser.add_argument("--timeframe", required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--prepare-only", action="store_true", help="write the data, config and strategy; stop")
    parser.add_argument("--run-only", action="store_true", help="backtest what --prepare-only wrote")
    args = parser.parse_args()
    if not args.run_only:
        prepare(args.parquet_dir, args.timeframe, args.work)
    if args.prepare_only:
        return 0
    offline_markets(json.loads((args.work / "config.json").read_text())["exchange"]["pair_whitelist"])
    from freqtrade.main import main as freqtrade  # noqa: PLC0415

    argv = ["backtesting", "--config", str(args.work / "config.json"), "--strategy", "EmaRsi"]
    argv += ["--strategy-path", str(args.work / "strategies"), "--cache", "none", "--export", "none"]
    try:
        freqtrade(argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
