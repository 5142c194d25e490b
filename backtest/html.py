"""The report as one self-contained HTML page: inline SVG charts (equity, drawdown, each traded symbol's
price with its entries and exits) and the report's tables; no script, nothing fetched."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backtest.report import iso, to_markdown

WIDTH, HEIGHT, PAD = 960, 220, 36
MAX_POINTS = 1500
MAX_SYMBOL_CHARTS = 12


def _thin(times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(times) <= MAX_POINTS:
        return times, values
    pick = np.linspace(0, len(times) - 1, MAX_POINTS).astype(np.int64)
    return times[pick], values[pick]


class Axes:
    def __init__(self, times: np.ndarray, values: np.ndarray) -> None:
        self.t0, self.t1 = float(times.min()), float(max(times.max(), times.min() + 1))
        low, high = float(values.min()), float(values.max())
        self.v0, self.v1 = (low, high) if high > low else (low - 1, high + 1)

    def x(self, t: float) -> float:
        return PAD + (t - self.t0) / (self.t1 - self.t0) * (WIDTH - 2 * PAD)

    def y(self, v: float) -> float:
        return HEIGHT - PAD - (v - self.v0) / (self.v1 - self.v0) * (HEIGHT - 2 * PAD)


def _chart(title: str, times: np.ndarray, values: np.ndarray, marks: Sequence[tuple[int, float, str]] = ()) -> str:
    if len(times) < 2:
        return f"<h3>{html.escape(title)}</h3><p>not enough points</p>"
    times, values = _thin(times, values)
    ax = Axes(times, values)
    points = " ".join(f"{ax.x(t):.1f},{ax.y(v):.1f}" for t, v in zip(times.tolist(), values.tolist(), strict=True))
    shapes = "".join(
        f'<circle cx="{ax.x(t):.1f}" cy="{ax.y(v):.1f}" r="3.5" fill="{colour}">'
        f"<title>{iso(t)} {v:.6g}</title></circle>"
        for t, v, colour in marks
    )
    labels = (
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{iso(int(ax.t0))}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">{iso(int(ax.t1))}</text>'
        f'<text x="4" y="{PAD - 6}" font-size="11">{ax.v1:,.6g}</text>'
        f'<text x="4" y="{HEIGHT - PAD + 14}" font-size="11">{ax.v0:,.6g}</text>'
    )
    return (
        f"<h3>{html.escape(title)}</h3>"
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{html.escape(title)}">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fafafa"/>'
        f'<polyline fill="none" stroke="#2b6cb0" stroke-width="1.4" points="{points}"/>{shapes}{labels}</svg>'
    )


def _markdown_tables(text: str) -> str:
    """The Markdown report as HTML: headings, paragraphs and pipe tables (all it uses)."""
    out, rows = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            if not set(line) <= set("|-: "):
                rows.append([html.escape(c.strip()) for c in line.strip("|").split("|")])
            continue
        if rows:
            head, *body = rows
            out.append(
                "<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body) + "</table>"
            )  # fmt: skip
            rows = []
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    return "\n".join(out)


def to_html(report: dict[str, Any], closes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> str:
    times = np.array([t for t, _ in report["equity"]], dtype=np.int64)
    equity = np.array([e for _, e in report["equity"]], dtype=np.float64)
    charts = [_chart("Equity (USDT)", times, equity)]
    if len(equity):
        drawdown = (equity / np.maximum.accumulate(equity) - 1) * 100
        charts.append(_chart("Drawdown (%)", times, drawdown))
    traded = sorted({t["symbol"] for t in report["trades"]})[:MAX_SYMBOL_CHARTS]
    for symbol in traded:
        ts, cs = closes.get(symbol, (np.empty(0), np.empty(0)))
        marks: list[tuple[int, float, str]] = []
        for t in report["trades"]:
            if t["symbol"] == symbol:
                marks.append((t["entry_time"], t["entry_price"], "#2f855a" if t["side"] == "long" else "#c05621"))
                marks.append((t["exit_time"], t["exit_price"], "#c53030" if t["net"] <= 0 else "#2b6cb0"))
        charts.append(
            _chart(f"{symbol}: entries (green long, orange short), exits (red loss, blue gain)", ts, cs, marks)
        )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#1a202c}"
        "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #cbd5e0;padding:2px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>tradepipe backtest</title><style>{style}</style>"
        f"</head><body>{_markdown_tables(to_markdown(report))}{''.join(charts)}</body></html>\n"
    )
