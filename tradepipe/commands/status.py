"""``tradepipe status``: health and key figures of a running stack, readable in a terminal.

Asks every service's ``/readyz`` and a few endpoints (execution's account, ia2's risk status, monitor's
cache and pipeline figures) on their usual ports, or the URLs in ``--url name=http://...``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import httpx

DEFAULT_URLS = {
    "scout": "http://127.0.0.1:8011",
    "ia1": "http://127.0.0.1:8012",
    "ia2": "http://127.0.0.1:8013",
    "execution": "http://127.0.0.1:8014",
    "monitor": "http://127.0.0.1:8001",
}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("status", help="health and key figures of a running stack")
    parser.add_argument(
        "--url", action="append", default=[], metavar="NAME=URL", help="where a service answers (repeatable)"
    )
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per request")
    parser.set_defaults(handler=handle)


def _urls(overrides: list[str]) -> dict[str, str]:
    urls = dict(DEFAULT_URLS)
    for item in overrides:
        name, sep, url = item.partition("=")
        if not sep or name not in urls:
            raise SystemExit(f"--url wants NAME=URL with NAME one of {', '.join(urls)}; got {item!r}")
        urls[name] = url.rstrip("/")
    return urls


def _get(client: httpx.Client, url: str) -> tuple[int | None, Any]:
    try:
        response = client.get(url)
    except httpx.HTTPError as error:
        return None, type(error).__name__
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text[:200]


def _line(label: str, value: str) -> None:
    print(f"  {label:<22} {value}")


def _figures(client: httpx.Client, urls: dict[str, str]) -> list[tuple[str, Callable[[], str]]]:
    def account() -> str:
        code, body = _get(client, f"{urls['execution']}/account")
        if code != 200 or not isinstance(body, dict):
            return f"unavailable ({code or body})"
        return (
            f"{body.get('mode')} equity {body.get('equity', 0):,.2f}  drawdown {body.get('drawdown', 0):.1%}  "
            f"positions {body.get('open_positions')}  halt {body.get('halt') or '-'}  "
            f"kill {body.get('kill_switch') or '-'}"
        )

    def cache() -> str:
        code, body = _get(client, f"{urls['monitor']}/api/system/performance/cache-stats")
        if code != 200 or not isinstance(body, dict):
            return f"unavailable ({code or body})"
        overall = body.get("overall", {})
        return f"hit rate {overall.get('hit_rate', 0):.1%}  upstream calls {overall.get('upstream_calls', 0):,}"

    def pipeline() -> str:
        code, body = _get(client, f"{urls['monitor']}/api/system/pipeline")
        if code != 200 or not isinstance(body, dict):
            return f"unavailable ({code or body})"
        dead = body.get("dead_letters", {}).get("total", 0)
        return f"max lag {body.get('max_lag', 0)}  max pending {body.get('max_pending', 0)}  dead letters {dead}"

    return [("account", account), ("cache", cache), ("pipeline", pipeline)]


def handle(args: argparse.Namespace) -> int:
    urls = _urls(args.url)
    healthy = True
    with httpx.Client(timeout=args.timeout) as client:
        print("services")
        for name, url in urls.items():
            code, body = _get(client, f"{url}/readyz")
            if code == 200:
                state = "ready"
            else:
                healthy = False
                reasons = body.get("reasons") if isinstance(body, dict) else None
                state = f"NOT READY ({'; '.join(reasons) if reasons else code or body})"
            _line(name, f"{state}  {url}")
        print("figures")
        for label, figure in _figures(client, urls):
            _line(label, figure())
    return 0 if healthy else 1
