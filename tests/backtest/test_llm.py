"""LLM analysts in a backtest: answers come through the response cache and budget, and the report counts
how many the cache answered; the model's oversized trades are still cut to the limits."""

from __future__ import annotations

from backtest import report
from backtest.history import Store
from backtest.run import run_backtest
from backtest.settings import BacktestSettings
from devkit.llm_server import LlmServer
from tests.backtest.conftest import DAY, SAMPLE_START

Sample = tuple[Store, list[str]]


def test_models_answer_through_the_cache_and_the_limits_still_hold(
    sample: Sample, llm: LlmServer, redis_url: str
) -> None:
    store, symbols = sample
    settings = BacktestSettings(
        redis_url=redis_url,
        llm_base_url=llm.url,
        ia1_provider="llm",
        ia2_provider="llm",
        scout_top_n=1,
        risk_max_symbol_exposure=0.2,
    )
    end = SAMPLE_START + 11 * DAY  # a few days after the 4h readings are ready: a few dozen questions
    first, _ = run_backtest(settings, store, symbols, "1h", None, end, workers=1)
    assert first.llm is not None
    asked = first.llm["ia1"]["asked"]
    assert asked > 10 and len(llm.requests) >= asked  # every ia1 question went to the model once...
    assert first.llm["ia2"]["asked"] > 0
    requests = len(llm.requests)
    second, _ = run_backtest(settings, store, symbols, "1h", None, end, workers=1)
    assert second.llm == {k: {"asked": v["asked"], "from_cache": v["asked"]} for k, v in first.llm.items()}
    assert len(llm.requests) == requests  # ...and the second run asked the model nothing
    built = report.build(second)
    assert built["llm"] == second.llm and "answered from the response cache" in report.to_markdown(built)
    equity = dict(second.equity)
    assert second.trades  # the model wants 1,000 times the rules' size; the caps cut it
    for trade in second.trades:
        assert trade.quantity * trade.entry_price <= 0.2 * equity[trade.entry_time] * 1.001
