"""Developer tooling: everything that starts processes for development, tests and benchmarks.

    processes.py    spawn a child that dies with its parent; stop it (SIGTERM, then SIGKILL); reap all at exit
    supervisor.py   named children with logs: the one supervisor of `make run`, the e2e stack and benchmarks
    net.py          free ports and readiness waits
    redis_server.py a private redis-server (start, stop, kill, pause, restart on the same port)
    sim_server.py   the exchange simulator in a thread, with its admin API and a ccxt client for it
    llm_server.py   an OpenAI-compatible chat server answering valid, invalid, slow and failing replies
    stack.py        the five services as real processes on free ports (e2e tests, chaos tests, B3)
    run.py          `tradepipe run` / `make run`: Redis, the simulator and the services on their usual ports
    stampede.py     one process of callers reading the same expiring keys (cache tests and B2)

Nothing in ``services/`` or ``shared/`` imports this package: it sits beside ``tests/`` and ``bench/``.
"""
