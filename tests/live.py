"""A real Qingling server in a child process, on a free loopback port.

Used by tests that must cross a real socket: the README's first command, the OpenAPI
fuzz run, and (later) crash and multi-process tests.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A `qingling serve` child process; `url` once it answers /api/health."""

    def __init__(
        self,
        database_url: str,
        *args: str,
        log: Path | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
        ready_s: float = 60,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                *args,
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "QINGLING_DATABASE_URL": database_url,
                "PICCOLO_CONF": "piccolo_conf",
                **(env or {}),
            },
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_healthy(ready_s)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, ready_s: float) -> None:
        deadline = time.monotonic() + ready_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} (log: {self.log})")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not become healthy within {ready_s:.0f} s")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, like a power cut to the process."""
        self.proc.kill()
        self.proc.wait()
        self._close_log()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self.log and not self._out.closed:  # type: ignore[union-attr]
            self._out.close()  # type: ignore[union-attr]


@contextmanager
def live_server(
    database_url: str, *args: str, log: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run `qingling serve` with `args`; yields its base URL once /api/health answers."""
    server = ServerProcess(database_url, *args, log=log, env=env)
    try:
        yield server.url
    finally:
        server.stop()
