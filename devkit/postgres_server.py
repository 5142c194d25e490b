"""A private PostgreSQL server for tests: initdb in a temp dir, started on a free loopback port.

Uses Debian's binaries (``/usr/lib/postgresql/<version>/bin``, the newest) or ``initdb``/``postgres`` on PATH.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system user (Debian's
``postgresql`` package creates it) in a temp dir that user owns. Authentication is ``trust`` on loopback:
this server holds nothing but test data. The process is a devkit child: it dies with whoever started it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from devkit import processes
from devkit.net import free_port
from devkit.waits import wait_until

SUPERUSER = "postgres"


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``postgres``: Debian's newest, else PATH's."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name), reverse=True
    )
    if debian:
        return debian[0].parent
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("postgres") else None


class PostgresServer:
    def __init__(self, bin_dir: Path, port: int | None = None) -> None:
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.user = SUPERUSER if os.geteuid() == 0 else None
        self.dir = Path(tempfile.mkdtemp(prefix="tp-pg-"))
        self.data = self.dir / "data"
        self.process: subprocess.Popen[bytes] | None = None
        if self.user is not None:
            try:
                account = pwd.getpwnam(self.user)
            except KeyError:
                raise RuntimeError(
                    "running as root, PostgreSQL needs the 'postgres' system user: apt-get install postgresql"
                ) from None
            os.chown(self.dir, account.pw_uid, account.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> str:
        result = subprocess.run(
            [str(self.bin_dir / tool), *args], capture_output=True, text=True, user=self.user, check=False, timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def start(self) -> PostgresServer:
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        args = [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1"]
        # fsync off: a killed server still recovers every commit (they are in the OS's cache); only a machine
        # crash would lose them, which no test does.
        args += ["-k", str(self.dir), "-c", "fsync=off", "-c", "max_connections=200", "-c", "log_min_messages=fatal"]
        log = (self.dir / "postgres.log").open("ab")
        process = self.process = processes.spawn(args, stdout=log, user=self.user)
        if not wait_until(lambda: self.ready() or process.poll() is not None, 60, interval_s=0.1):
            processes.kill(process)
            raise RuntimeError(f"postgres on port {self.port} did not start: {self.log_tail()}")
        if process.poll() is not None:
            raise RuntimeError(f"postgres on port {self.port} exited with {process.returncode}: {self.log_tail()}")
        return self

    def ready(self) -> bool:
        result = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-q"],
            check=False,
            timeout=10,
        )
        return result.returncode == 0

    def log_tail(self, chars: int = 2000) -> str:
        path = self.dir / "postgres.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def sql(self, statement: str, database: str = "postgres") -> str:
        return self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-Atc", statement
        )

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """SIGINT: PostgreSQL's fast shutdown (clients are disconnected, everything is written)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            processes.stop(self.process, grace_s=30)
            self.process = None

    def kill(self) -> None:
        """SIGKILL of the server and its backends: a crash; the next start recovers from the WAL."""
        if self.process is not None:
            processes.kill(self.process)
            self.process = None

    def restart(self, downtime_s: float = 0.0, *, crash: bool = False) -> None:
        self.kill() if crash else self.stop()
        time.sleep(downtime_s)
        self.start()

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
