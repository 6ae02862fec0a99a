"""The stack script's decisions, without touching the shared services.

Starting a service that is down is checked through ``--dry-run`` with the
probe told the port is closed; process handling runs a small HTTP server of
the test's own as the "process".
"""

import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bus.settings import ServiceSettings
from infra.scripts import stack
from infra.scripts.stack import Process, Server, StackError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ------------------------------------------------------------------ servers


@pytest.mark.parametrize(
    ("url", "kind", "port"),
    [
        ("amqp://guest:guest@127.0.0.1/", "rabbitmq", 5672),
        ("mysql+aiomysql://root@127.0.0.1:3307/x", "mariadb", 3307),
        ("postgresql+asyncpg://postgres@db.internal/x", "postgresql", 5432),
    ],
)
def test_server_is_named_by_its_url(url: str, kind: str, port: int) -> None:
    server = Server.from_url(url)

    assert server.kind == kind
    assert server.port == port


def test_an_unknown_url_scheme_is_refused() -> None:
    with pytest.raises(StackError, match="redis"):
        Server.from_url("redis://127.0.0.1:6379/0")


def test_only_the_local_server_on_its_standard_port_is_started() -> None:
    remote = Server.from_url("amqp://guest:guest@rabbit.internal:5672/")
    other_port = Server.from_url("amqp://guest:guest@127.0.0.1:5673/")

    assert remote.start_command() is None
    assert other_port.start_command() is None


def test_servers_of_lists_each_server_once() -> None:
    first = ServiceSettings(amqp_url="amqp://guest:guest@127.0.0.1:5672/a")
    second = ServiceSettings(amqp_url="amqp://guest:guest@127.0.0.1:5672/b")

    servers = stack.servers_of([first, second])

    assert [server.kind for server in servers] == ["rabbitmq"]


def test_a_local_server_that_is_down_would_be_started(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(stack, "listening", lambda host, port: False)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/sbin/{name}")
    server = Server.from_url("amqp://guest:guest@127.0.0.1:5672/")

    stack.ensure_server(server, dry_run=True)

    assert "would run: /usr/sbin/rabbitmq-server -detached" in capsys.readouterr().out


def test_a_remote_server_that_is_down_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stack, "listening", lambda host, port: False)
    server = Server.from_url("postgresql+asyncpg://postgres@db.internal:5432/x")

    with pytest.raises(StackError, match="cannot start it"):
        stack.ensure_server(server, dry_run=True)


def test_a_server_that_answers_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(stack, "listening", lambda host, port: True)

    async def answers(server: Server) -> None:
        return None

    monkeypatch.setattr(stack, "why_not_answering", answers)
    monkeypatch.setattr(stack, "execute", pytest.fail)

    stack.ensure_server(Server.from_url("mysql+aiomysql://root@127.0.0.1/"))

    assert "answers" in capsys.readouterr().out


# ---------------------------------------------------------------- processes


def test_a_process_listening_everywhere_is_reached_on_loopback() -> None:
    settings = ServiceSettings(http_host="0.0.0.0", http_port=8123)  # noqa: S104

    assert stack.base_url(settings) == "http://127.0.0.1:8123"


SERVER = textwrap.dedent(
    """
    import http.server, os

    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/readyz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    port = int(os.environ["FAKESVC_PORT"])
    http.server.HTTPServer(("127.0.0.1", port), Ready).serve_forever()
    """
)


@pytest.fixture
def fake_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Process, ServiceSettings]]:
    """A package ``fakesvc`` whose ``python -m`` serves /readyz on a free port."""
    package = tmp_path / "src" / "fakesvc"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(SERVER)
    port = free_port()
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    monkeypatch.setenv("FAKESVC_PORT", str(port))
    monkeypatch.setattr(stack, "RUN_DIR", tmp_path / "run")
    monkeypatch.setattr(stack, "LOG_DIR", tmp_path / "run" / "logs")
    (tmp_path / "run").mkdir()
    process = Process("fake", "fakesvc", "FakeSettings")

    yield process, ServiceSettings(http_port=port)

    pid = stack.running_pid(process)
    if pid is not None:
        stack.stop_pid(pid, process.package, timeout=5)


def test_a_started_process_is_ready_then_reported_running_not_duplicated(
    fake_process: tuple[Process, ServiceSettings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    process, settings = fake_process

    first = stack.start_process(process, settings, timeout=20)
    second = stack.start_process(process, settings, timeout=20)

    assert second == first
    assert stack.running_pid(process) == first
    assert "already running" in capsys.readouterr().out


def test_a_stopped_process_is_gone_and_its_pid_file_removed(
    fake_process: tuple[Process, ServiceSettings],
) -> None:
    process, settings = fake_process
    pid = stack.start_process(process, settings, timeout=20)

    stopped_in_time = stack.stop_pid(pid, process.package, timeout=10)

    assert stopped_in_time
    assert not stack.pid_alive(pid, process.package)
    assert stack.running_pid(process) is None
    assert not process.pid_file.exists()


def test_a_process_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
            "stubborn.marker",
        ],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline() == b"ready\n"

    stopped_in_time = stack.stop_pid(stubborn.pid, "stubborn.marker", timeout=1)

    assert not stopped_in_time
    assert stubborn.wait(5) == -9


def test_a_process_that_cannot_get_ready_is_stopped_and_its_log_shown(
    fake_process: tuple[Process, ServiceSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    process, settings = fake_process
    monkeypatch.setenv("FAKESVC_PORT", "not-a-port")

    with pytest.raises(StackError, match=r"exited with 1(.|\n)*ValueError"):
        stack.start_process(process, settings, timeout=20)

    assert stack.running_pid(process) is None


def test_a_stale_pid_file_is_removed(
    fake_process: tuple[Process, ServiceSettings],
) -> None:
    process, _ = fake_process
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    process.pid_file.write_text(finished.stdout)

    assert stack.running_pid(process) is None
    assert not process.pid_file.exists()


def test_a_port_taken_by_another_program_is_an_error(
    fake_process: tuple[Process, ServiceSettings],
) -> None:
    process, settings = fake_process
    with socket.socket() as other:
        other.bind(("127.0.0.1", settings.http_port))
        other.listen()

        with pytest.raises(StackError, match="taken by another program"):
            stack.start_process(process, settings, timeout=5)


# ------------------------------------------------------------------ seeding


def test_the_seeded_admin_comes_from_the_users_settings() -> None:
    users = next(p for p in stack.PROCESSES if p.name == "users")
    settings = users.settings_type().model_construct()

    assert stack.seeded_admin(settings) == (
        settings.admin_email,  # type: ignore[attr-defined]
        settings.admin_password,  # type: ignore[attr-defined]
    )
    assert stack.seeded_admin(ServiceSettings()) is None
