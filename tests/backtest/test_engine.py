"""The backtest on the sample set: deterministic, money adds up, stops, funding, liquidation and caps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backtest import report
from backtest.book import ClosedTrade
from backtest.engine import Result
from backtest.history import Store, read_candles, read_funding
from backtest.run import run_backtest
from backtest.settings import BacktestSettings
from shared import perps

Sample = tuple[Store, list[str]]


def backtest(sample: Sample, **settings: Any) -> Result:
    store, symbols = sample
    result, _ = run_backtest(BacktestSettings(**settings), store, symbols, "1h", workers=1)
    return result


def test_same_data_and_settings_give_the_same_bytes(sample: Sample) -> None:
    first = report.to_json(report.build(backtest(sample)))
    second = report.to_json(report.build(backtest(sample)))
    assert first == second
    assert report.build(backtest(sample))["summary"]["trades"] > 5  # the sample trades


def test_end_equity_is_start_plus_the_trades_net(sample: Sample) -> None:
    built = report.build(backtest(sample))
    summary, trades = built["summary"], built["trades"]
    assert summary["end_equity"] == pytest.approx(summary["start_equity"] + sum(t["net"] for t in trades), abs=1e-6)
    assert summary["fees"] == pytest.approx(sum(t["fees"] for t in trades), abs=1e-6)
    assert summary["funding"] == pytest.approx(sum(t["funding"] for t in trades), abs=1e-6)
    for t in trades:
        assert set(report.TRADE_FIELDS) <= set(t) and t["exit_time"] >= t["entry_time"]


def _candle_closing(store: Store, symbol: str, at: int) -> perps.Candle:
    candles = read_candles(store.candles_path("1h", symbol))
    i = int(np.searchsorted(candles.ts, at - 3_600_000))
    assert candles.ts[i] == at - 3_600_000
    return perps.Candle(candles.open[i], candles.high[i], candles.low[i], candles.close[i])


def test_stops_and_targets_fill_inside_the_candle_that_touches_them(sample: Sample) -> None:
    store, _ = sample
    result = backtest(sample, risk_reward_ratio=0.7)  # targets near enough to be reached too
    filled = {(d["symbol"], d["time"]): d for d in result.decisions if d["outcome"] == "filled"}
    exits = [t for t in result.trades if t.exit_reason in ("stop-loss", "take-profit")]
    assert {t.exit_reason for t in exits} == {"stop-loss", "take-profit"}
    for trade in exits:
        decision = filled[(trade.symbol, trade.entry_time)]
        candle = _candle_closing(store, trade.symbol, trade.exit_time)
        found = perps.exit_in_candle(trade.side, candle, decision["stop_loss"], decision["take_profit"])  # type: ignore[arg-type]
        assert found is not None and found.reason == trade.exit_reason.replace("-", "_")
        assert trade.exit_price == found.price  # a resting order fills at its level (or the open past it)
        entry_fee = trade.quantity * trade.entry_price * 0.0005
        assert trade.fees == pytest.approx(entry_fee + trade.quantity * found.price * 0.0005)


def test_funding_is_paid_at_every_funding_time_a_position_spans(sample: Sample) -> None:
    store, _ = sample
    result = backtest(sample)

    # A position stopped inside a candle pays the funding times up to that candle's open, not its close.
    def paid_times(t: ClosedTrade) -> list[int]:
        return perps.funding_times(t.entry_time, t.exit_time - 3_600_000)

    spanning = [t for t in result.trades if t.exit_reason in ("stop-loss", "take-profit") and paid_times(t)]
    assert spanning
    for trade in spanning:
        candles = read_candles(store.candles_path("1h", trade.symbol))
        times, rates = read_funding(store.funding_path(trade.symbol))
        expected = 0.0
        for at in paid_times(trade):
            mark = float(candles.open[int(np.searchsorted(candles.ts, at))])
            rate = float(rates[int(np.searchsorted(times, at))])
            expected += perps.funding_payment(trade.side, trade.quantity, mark, rate)  # type: ignore[arg-type]
        assert trade.funding == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_a_position_past_its_liquidation_price_loses_its_margin(sample: Sample) -> None:
    # High leverage and a stop far beyond the liquidation price: the liquidation comes first.
    result = backtest(sample, trading_leverage=50, risk_atr_stop_multiple=20, risk_reward_ratio=20, risk_per_trade=0.02)
    liquidated = [t for t in result.trades if t.exit_reason == "liquidation"]
    assert liquidated
    for trade in liquidated:
        margin = trade.quantity * trade.entry_price / 50
        assert trade.pnl - (trade.fees - trade.quantity * trade.entry_price * 0.0005) == pytest.approx(-margin)
        leg = perps.Leg(trade.side, trade.quantity, trade.entry_price)  # type: ignore[arg-type]
        assert trade.exit_price == pytest.approx(perps.liquidation_price([leg], margin, trade.entry_price))


def test_position_caps_hold_at_every_moment(sample: Sample) -> None:
    result = backtest(sample, risk_max_open_positions=2, risk_max_symbol_exposure=0.1)
    assert len(result.trades) > 2
    moments = sorted({t.entry_time for t in result.trades})
    for moment in moments:
        open_then = [t for t in result.trades if t.entry_time <= moment < t.exit_time]
        assert len(open_then) <= 2
        assert len({t.symbol for t in open_then}) == len(open_then)  # one position per symbol
    equity = dict(result.equity)
    for trade in result.trades:  # notional at entry within the per-symbol cap of the equity then (plus slippage)
        assert trade.quantity * trade.entry_price <= 0.1 * equity[trade.entry_time] * 1.001
