"""Run the benchmarks: ``python -m bench [--quick | --smoke] [--only b1,b3] [--out DIR]``.

Starts a private Redis and the simulator, runs each scenario with a progress line per step, and
writes ``latest.json``, ``latest.md`` and ``latest.png`` in the output directory.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench import b1_scan, b2_stampede, b3_pipeline, b4_cache, b5_outage, b6_backtest, report
from bench.env import FULL, QUICK, SMOKE, Env, Size, environment

SCENARIOS = ("b1", "b2", "b3", "b4", "b5", "b6")
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


async def _scenario(name: str, env: Env, size: Size, log_dir: Path) -> dict[str, Any]:
    if name == "b1":
        return await b1_scan.run(env, size)
    if name == "b2":
        return await b2_stampede.run(env, size)
    if name == "b3":
        return await b3_pipeline.run(env, size, log_dir)
    if name == "b4":
        return await b4_cache.run(env, size)
    if name == "b6":
        return b6_backtest.run(size)
    return await b5_outage.run(env, size)


def run(size: Size, only: tuple[str, ...], out: Path, *, chart: bool = True) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {
        "meta": {
            "size": size.name,
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],  # 1, 5, 15 minutes
            "python": platform.python_version(),
            "symbols": size.symbols,
            "latency_ms": size.latency_ms,
            "scenario_seconds": {},
        }
    }
    samples: list[float] = []
    log_dir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    with environment(size) as env:
        for name in only:
            print(f"[{time.monotonic() - started:6.1f} s] {name.upper()} …", flush=True)
            t = time.monotonic()
            result = asyncio.run(_scenario(name, env, size, log_dir))
            samples = result.pop("e2e_ms_samples", samples)
            results[name] = result
            results["meta"]["scenario_seconds"][name] = round(time.monotonic() - t, 1)
    results["meta"]["seconds"] = round(time.monotonic() - started, 1)
    results["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["goals"] = report.evaluate(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    (out / "latest.md").write_text(report.markdown(results))
    if chart:
        report.chart(results, samples, out / "latest.png")
    print(f"[{results['meta']['seconds']:6.1f} s] done: {out / 'latest.json'}, latest.md, latest.png", flush=True)
    for row in results["goals"]:
        mark = {True: "met", False: "NOT MET", None: "not run"}[row["met"]]
        print(f"  {mark:8} {row['goal']}: {row['value']} (target {row['target']})")
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument(
        "--quick", action="store_true", help="the same scenarios, smaller (B1 still an hour): ~5 min on 2 cores"
    )
    sizes.add_argument("--smoke", action="store_true", help="smallest size, checks that everything runs (CI)")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated subset, e.g. b1,b4")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where latest.json/.md/.png go")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG (no matplotlib needed)")


def run_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    only = tuple(s.strip().lower() for s in args.only.split(",") if s.strip())
    unknown = [s for s in only if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    size = SMOKE if args.smoke else QUICK if args.quick else FULL
    run(size, only, args.out, chart=not args.no_chart)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_arguments(parser)
    return run_from_args(parser, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
