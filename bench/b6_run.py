"""One B6 backtest in its own process (``python -m bench.b6_run``): the timings and peak memory as JSON."""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import orjson

from backtest import report
from backtest.history import Store
from backtest.run import run_backtest
from backtest.settings import BacktestSettings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--timeframe", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    store = Store(args.root, "b6")
    settings = BacktestSettings(_env_file=None)
    result, timings = run_backtest(settings, store, store.symbols(args.timeframe), args.timeframe)
    report_started = time.perf_counter()
    report.write(report.build(result), args.out, result.closes)
    peak_kib = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    figures = {
        "candles": timings.candles,
        "load_s": round(timings.load_s, 3),
        "indicators_s": round(timings.indicators_s, 3),
        "features_wall_s": round(timings.features_wall_s, 3),
        "loop_s": round(timings.loop_s, 3),
        "report_s": round(time.perf_counter() - report_started, 3),
        "in_process_s": round(time.perf_counter() - started, 3),
        "trades": len(result.trades),
        "pipeline": result.counts,
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }
    sys.stdout.write(orjson.dumps(figures).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
