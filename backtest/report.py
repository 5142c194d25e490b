"""A backtest's figures, and the report files: JSON, Markdown, the trades as CSV (the HTML page: html.py).

Everything is computed from the trades and the equity curve sampled at every decision time, so the same
data and settings give the same bytes. Money is rounded to 8 decimals; end equity equals start equity
plus the trades' PnL net of their fees and funding (every position is closed at the end of the data).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from backtest.book import ClosedTrade
from backtest.engine import Result
from backtest.history import timeframe_ms

YEAR_MS = 365 * 86_400_000
TRADE_FIELDS = (
    "symbol", "side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl", "fees", "funding",
    "net", "exit_reason", "signal_kind",
)  # fmt: skip
SETTINGS_SHOWN = (
    "ia1_primary_timeframe", "ia1_timeframes", "scout_top_n", "scout_candidates", "scout_min_quote_volume",
    "risk_per_trade", "risk_atr_stop_multiple", "risk_reward_ratio", "risk_min_confidence", "risk_max_open_positions",
    "risk_max_symbol_exposure", "risk_max_total_exposure", "risk_max_correlation", "risk_max_daily_loss",
    "risk_max_drawdown", "paper_start_balance", "paper_fee_rate", "paper_slippage_bps", "trading_leverage",
    "trading_margin_mode", "backtest_spread_bps", "backtest_halt_reset_hours", "ia1_provider", "ia2_provider",
)  # fmt: skip


def _r(value: float, digits: int = 8) -> float:
    return round(float(value), digits) if math.isfinite(value) else 0.0


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def trade_row(trade: ClosedTrade) -> dict[str, Any]:
    return {
        "symbol": trade.symbol,
        "side": trade.side,
        "entry_time": trade.entry_time,
        "exit_time": trade.exit_time,
        "entry_price": _r(trade.entry_price, 10),
        "exit_price": _r(trade.exit_price, 10),
        "quantity": _r(trade.quantity, 10),
        "pnl": _r(trade.pnl),
        "fees": _r(trade.fees),
        "funding": _r(trade.funding),
        "net": _r(trade.net),
        "exit_reason": trade.exit_reason,
        "signal_kind": trade.signal_kind,
    }


def _drawdown(equity: np.ndarray, times: np.ndarray) -> tuple[float, int]:
    """Deepest fall from a peak (share of the peak) and the longest time spent below a peak (ms)."""
    if not len(equity):
        return 0.0, 0
    peaks = np.maximum.accumulate(equity)
    depth = float(((peaks - equity) / peaks).max())
    longest, since = 0, None
    for t, e, p in zip(times.tolist(), equity.tolist(), peaks.tolist(), strict=True):
        if e < p:
            since = t if since is None else since
            longest = max(longest, t - since)
        else:
            since = None
    return depth, longest


def _ratios(equity: np.ndarray, step_ms: int) -> tuple[float, float]:
    """Sharpe and Sortino of the per-step returns, annualised (risk-free rate 0)."""
    if len(equity) < 3:
        return 0.0, 0.0
    returns = np.diff(equity) / equity[:-1]
    per_year = math.sqrt(YEAR_MS / step_ms)
    std = returns.std()
    downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    sharpe = float(returns.mean() / std * per_year) if std > 0 else 0.0
    sortino = float(returns.mean() / downside * per_year) if downside > 0 else 0.0
    return sharpe, sortino


def _group(trades: list[ClosedTrade], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ClosedTrade]] = defaultdict(list)
    for trade in trades:
        groups[getattr(trade, key)].append(trade)
    return {
        name: {
            "trades": len(ts),
            "wins": sum(1 for t in ts if t.net > 0),
            "net": _r(sum(t.net for t in ts)),
            "fees": _r(sum(t.fees for t in ts)),
            "funding": _r(sum(t.funding for t in ts)),
        }
        for name, ts in sorted(groups.items())
    }


def _monthly(times: np.ndarray, equity: np.ndarray) -> dict[str, float]:
    months: dict[str, tuple[float, float]] = {}
    previous = float(equity[0]) if len(equity) else 0.0
    for t, e in zip(times.tolist(), equity.tolist(), strict=True):
        month = datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m")
        start = months[month][0] if month in months else previous
        months[month] = (start, e)
        previous = e
    return {m: _r((end / start - 1) * 100, 4) if start else 0.0 for m, (start, end) in months.items()}


def _buy_and_hold(result: Result) -> dict[str, Any]:
    """Equal parts of the start equity in every symbol from its first decision time to the end, no fees."""
    legs = {}
    for symbol, (_, closes) in sorted(result.closes.items()):
        if len(closes) >= 2:
            legs[symbol] = _r((closes[-1] / closes[0] - 1) * 100, 4)
    basket = sum(legs.values()) / len(legs) if legs else 0.0
    return {"return_pct": _r(basket, 4), "per_symbol_pct": legs}


def summarise(result: Result) -> dict[str, Any]:
    trades = result.trades
    times = np.array([t for t, _ in result.equity], dtype=np.int64)
    equity = np.array([e for _, e in result.equity], dtype=np.float64)
    step = timeframe_ms(result.plan.primary)
    span = int(times[-1] - times[0]) if len(times) > 1 else 0
    total = result.end_equity / result.start_equity - 1
    years = span / YEAR_MS
    cagr = (1 + total) ** (1 / years) - 1 if years > 0 and total > -1 else 0.0
    max_dd, dd_ms = _drawdown(equity, times)
    sharpe, sortino = _ratios(equity, step)
    wins = [t.net for t in trades if t.net > 0]
    losses = [t.net for t in trades if t.net <= 0]
    held = [t.exit_time - t.entry_time for t in trades]
    return {
        "start_equity": _r(result.start_equity),
        "end_equity": _r(result.end_equity),
        "total_return_pct": _r(total * 100, 4),
        "cagr_pct": _r(cagr * 100, 4),
        "max_drawdown_pct": _r(max_dd * 100, 4),
        "max_drawdown_duration_ms": dd_ms,
        "sharpe": _r(sharpe, 4),
        "sortino": _r(sortino, 4),
        "calmar": _r(cagr / max_dd, 4) if max_dd > 0 else 0.0,
        "trades": len(trades),
        "win_rate_pct": _r(len(wins) / len(trades) * 100, 4) if trades else 0.0,
        "profit_factor": _r(sum(wins) / -sum(losses), 4) if losses and sum(losses) < 0 else 0.0,
        "expectancy": _r(sum(t.net for t in trades) / len(trades)) if trades else 0.0,
        "average_holding_ms": int(sum(held) / len(held)) if held else 0,
        "exposure_pct": _r(float(np.mean(np.array(result.exposure) > 0)) * 100, 4) if result.exposure else 0.0,
        "fees": _r(result.fees),
        "funding": _r(result.funding),
        "start": int(times[0]) if len(times) else 0,
        "end": int(times[-1]) if len(times) else 0,
    }


def build(result: Result) -> dict[str, Any]:
    times = np.array([t for t, _ in result.equity], dtype=np.int64)
    equity = np.array([e for _, e in result.equity], dtype=np.float64)
    settings = result.settings.model_dump(mode="json", include=set(SETTINGS_SHOWN))
    return {
        "summary": summarise(result),
        "buy_and_hold": _buy_and_hold(result),
        "per_symbol": _group(result.trades, "symbol"),
        "per_exit_reason": _group(result.trades, "exit_reason"),
        "monthly_returns_pct": _monthly(times, equity),
        "pipeline": dict(result.counts),
        "llm": result.llm,
        "halts": [{"time": t, "reason": why} for t, why in result.halts],
        "timeframes": {
            "data": result.plan.data,
            "analysis": list(result.plan.analysis),
            "left_out": list(result.plan.dropped),
            "primary": result.plan.primary,
        },
        "symbols": result.symbols,
        "settings": {k: settings[k] for k in sorted(settings)},
        "trades": [trade_row(t) for t in result.trades],
        "equity": [[t, _r(e)] for t, e in result.equity],
    }


def to_json(report: dict[str, Any]) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TRADE_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report["trades"])
    return out.getvalue()


def _table(rows: dict[str, dict[str, Any]], label: str) -> list[str]:
    lines = [f"| {label} | trades | wins | net | fees | funding |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['trades']} | {r['wins']} | {r['net']:,.2f} | {r['fees']:,.2f} | {r['funding']:,.2f} |"
        )
    return lines


def to_markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    hold_h = s["average_holding_ms"] / 3_600_000
    dd_days = s["max_drawdown_duration_ms"] / 86_400_000
    lines = [
        f"# Backtest {iso(s['start'])} .. {iso(s['end'])}",
        "",
        f"{len(report['symbols'])} symbols, {report['timeframes']['data']} candles, decisions on "
        f"{report['timeframes']['primary']} closes, analysis on {', '.join(report['timeframes']['analysis'])}.",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| start / end equity | {s['start_equity']:,.2f} / {s['end_equity']:,.2f} |",
        f"| total return | {s['total_return_pct']:.2f} % |",
        f"| CAGR | {s['cagr_pct']:.2f} % |",
        f"| max drawdown | {s['max_drawdown_pct']:.2f} % over {dd_days:.1f} days |",
        f"| Sharpe / Sortino / Calmar | {s['sharpe']:.2f} / {s['sortino']:.2f} / {s['calmar']:.2f} |",
        f"| trades, win rate | {s['trades']}, {s['win_rate_pct']:.1f} % |",
        f"| profit factor, expectancy | {s['profit_factor']:.2f}, {s['expectancy']:,.2f} per trade |",
        f"| average holding | {hold_h:.1f} h |",
        f"| time with a position open | {s['exposure_pct']:.1f} % |",
        f"| fees, funding | {s['fees']:,.2f}, {s['funding']:,.2f} |",
        f"| buy and hold of the basket | {report['buy_and_hold']['return_pct']:.2f} % |",
        "",
        "## Per symbol",
        "",
        *_table(report["per_symbol"], "symbol"),
        "",
        "## Per exit reason",
        "",
        *_table(report["per_exit_reason"], "exit"),
        "",
        "## Monthly returns",
        "",
        "| month | return |",
        "|---|---:|",
        *(f"| {m} | {v:.2f} % |" for m, v in report["monthly_returns_pct"].items()),
        "",
        "## Pipeline",
        "",
        ", ".join(f"{k}: {v}" for k, v in report["pipeline"].items()),
        "",
        *(
            f"LLM {desk}: {n['asked']} questions, {n['from_cache']} answered from the response cache."
            for desk, n in (report["llm"] or {}).items()
        ),
        *(f"Halted at {iso(h['time'])}: {h['reason']}." for h in report["halts"][:3]),
        *(
            [f"... and {len(report['halts']) - 3} more halts (report.json lists them)."]
            if len(report["halts"]) > 3
            else []
        ),
        "",
    ]
    return "\n".join(lines)


def write(report: dict[str, Any], out: Path, closes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Path]:
    """report.json, report.md, trades.csv and report.html in ``out``; ``closes``: each symbol's prices."""
    from backtest.html import to_html  # noqa: PLC0415  (html.py builds on this module)

    out.mkdir(parents=True, exist_ok=True)
    files = {
        "json": out / "report.json",
        "markdown": out / "report.md",
        "csv": out / "trades.csv",
        "html": out / "report.html",
    }
    files["json"].write_bytes(to_json(report))
    files["markdown"].write_text(to_markdown(report))
    files["csv"].write_text(to_csv(report))
    files["html"].write_text(to_html(report, closes))
    return files
