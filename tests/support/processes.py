"""StreamFlow processes started for real, on free ports, and stopped gracefully.

The end-to-end tests and the gateway benchmark run every process as
``python -m <package>`` with its settings in the environment, wait until it
answers ``/readyz``, and stop it with SIGTERM (SIGKILL only if it hangs).
"""

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
POLL_INTERVAL = 0.1
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class ProcessFailed(RuntimeError):
    """A process exited or never became ready; the message ends with its log."""


def free_port() -> int:
    """A port nothing listens on right now (closed again before returning)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class ServiceProcess:
    """One process: ``python -m module`` listening on ``port``."""

    name: str
    module: str
    port: int
    env: Mapping[str, str]
    log_path: Path
    args: tuple[str, ...] = ()
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                self.module,
                *self.args,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once ``/readyz`` answers 200; raise if the process died."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                self._raise_if_exited()
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise ProcessFailed(
                        f"{self.name} not ready after {timeout}s\n{self.log_tail()}"
                    )
                await asyncio.sleep(POLL_INTERVAL)

    async def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return process.returncode if process else None
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            return await process.wait()

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _raise_if_exited(self) -> None:
        if self.process is not None and self.process.returncode is not None:
            raise ProcessFailed(
                f"{self.name} exited with {self.process.returncode}\n{self.log_tail()}"
            )


async def run_to_completion(
    module: str, *args: str, env: Mapping[str, str], log_path: Path
) -> None:
    """Run ``python -m module args`` once (a seeder); raise if it fails."""
    runner = ServiceProcess(module, module, 0, env, log_path, args)
    await runner.start()
    assert runner.process is not None
    code = await runner.process.wait()
    if code != 0:
        raise ProcessFailed(f"{module} exited with {code}\n{runner.log_tail()}")
