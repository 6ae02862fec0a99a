"""Run StreamFlow on one machine: ``up``, ``down`` and ``status``.

``up`` takes a machine with RabbitMQ, MariaDB and PostgreSQL installed to a
serving stack: it starts whichever of those local services is down, creates
each context's database, runs its migrations, seeds, then starts every
process in the background (logs in ``.run/logs/``, pids in ``.run/``) and
waits until each one answers ``/readyz``. Running it again starts only what
is not running. ``down`` stops every process gracefully.

The steps also run alone: ``services`` (start what is down; CI runs it before
the tests), ``migrate`` (databases, migrations and seed; the compose file's
one-shot service runs it) and ``env-example`` (writes ``.env.example`` from
the settings classes).

Every value a process reads comes from its settings class, which reads the
environment and then ``.env`` at the repository root. This module reads the
same classes from the same directory, so the database it migrates and the
port it waits on are the ones the process uses.

    uv run python -m infra.scripts.stack up [--dry-run] [--seed-count N]
"""

import argparse
import asyncio
import importlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import aio_pika
import httpx
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bus.db import ensure_database, ping, upgrade_sync
from bus.settings import DatabaseSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / ".run"
LOG_DIR = RUN_DIR / "logs"
ENV_EXAMPLE = ROOT / ".env.example"

DEFAULT_SEED_COUNT = 50
READY_TIMEOUT = 60.0
# Above the longest graceful shutdown a process allows itself (the broker's
# 15 s to finish the message in hand), so SIGKILL only ends a stuck process.
STOP_TIMEOUT = 30.0
# A server just started gets long to answer (RabbitMQ boots in tens of
# seconds); one already listening only needs to finish its own start, so a
# wrong password or vhost is reported quickly.
SERVICE_START_TIMEOUT = 90.0
SERVICE_ANSWER_TIMEOUT = 20.0
PROBE_TIMEOUT = 3.0
POLL_INTERVAL = 0.5


class StackError(Exception):
    """A step failed; the message says which and what to do."""


@dataclass(frozen=True)
class Process:
    """One long-running process, started as ``python -m <package>``.

    Its settings class is ``<package>.settings.<settings_class>``; its
    migrations are ``<package>/alembic.ini`` when that file exists.
    """

    name: str
    package: str
    settings_class: str
    # A module run as ``python -m <seed> --count N`` after migrating.
    seed: str | None = None

    @property
    def directory(self) -> Path:
        return ROOT.joinpath(*self.package.split("."))

    @property
    def built(self) -> bool:
        return (self.directory / "__main__.py").is_file()

    @property
    def has_settings(self) -> bool:
        return (self.directory / "settings.py").is_file()

    @property
    def alembic_ini(self) -> Path | None:
        path = self.directory / "alembic.ini"
        return path if path.is_file() else None

    @property
    def pid_file(self) -> Path:
        return RUN_DIR / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return LOG_DIR / f"{self.name}.log"

    def settings_type(self) -> type[ServiceSettings]:
        module = importlib.import_module(f"{self.package}.settings")
        settings_type = getattr(module, self.settings_class)
        if not (
            isinstance(settings_type, type)
            and issubclass(settings_type, ServiceSettings)
        ):
            raise StackError(
                f"{self.name}: {self.settings_class} is not a settings class"
            )
        return settings_type

    def load_settings(self) -> ServiceSettings:
        try:
            return self.settings_type()()
        except ValidationError as exc:
            raise StackError(f"{self.name}: invalid settings:\n{exc}") from exc


# Every process, in start order: a process comes after the ones it calls.
# Adding a process is one line here. A process whose package has no
# __main__.py yet is reported as not built and skipped.
PROCESSES = (
    Process("users", "contexts.users", "UsersSettings", seed="contexts.users.seed"),
    Process("auth", "contexts.auth", "AuthSettings"),
    Process("gateway", "gateway", "GatewaySettings"),
)


def built_processes() -> list[Process]:
    return [process for process in PROCESSES if process.built]


def say(message: str) -> None:
    print(message, flush=True)


def rel(path: Path) -> str:
    """``path`` as shown to a person: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def env_name(settings_type: type[ServiceSettings], field: str) -> str:
    """The environment variable that sets ``field`` of ``settings_type``."""
    prefix = str(settings_type.model_config.get("env_prefix", ""))
    return f"{prefix}{field}".upper()


# ---------------------------------------------------------------- services

ServerKind = Literal["rabbitmq", "mariadb", "postgresql"]
DEFAULT_PORTS: dict[ServerKind, int] = {
    "rabbitmq": 5672,
    "mariadb": 3306,
    "postgresql": 5432,
}
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Server:
    """A RabbitMQ, MariaDB or PostgreSQL server, named by any URL on it."""

    kind: ServerKind
    url: str

    @classmethod
    def from_url(cls, url: str) -> "Server":
        scheme = urlsplit(url).scheme.split("+")[0]
        kinds: dict[str, ServerKind] = {
            "amqp": "rabbitmq",
            "amqps": "rabbitmq",
            "mysql": "mariadb",
            "mariadb": "mariadb",
            "postgresql": "postgresql",
        }
        if scheme not in kinds:
            raise StackError(f"no known server behind {scheme}:// URLs")
        return cls(kinds[scheme], url)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or DEFAULT_PORTS[self.kind]

    @property
    def address(self) -> str:
        return f"{self.kind} at {self.host}:{self.port}"

    def start_command(self) -> list[str] | None:
        """How this machine starts the server, or None if it cannot.

        Only the machine's own server on its standard port: starting it does
        nothing for a remote one or for one on another port.
        """
        if self.host not in LOCAL_HOSTS or self.port != DEFAULT_PORTS[self.kind]:
            return None
        if self.kind == "rabbitmq":
            found = shutil.which("rabbitmq-server")
            return [found, "-detached"] if found else None
        if self.kind == "mariadb":
            daemon = Path("/usr/sbin/mariadbd")
            found = shutil.which("start-stop-daemon")
            if not (found and daemon.is_file()):
                return None
            return [found, "--start", "--oknodo", "--background", "--exec", str(daemon)]
        found = shutil.which("pg_ctlcluster")
        clusters = Path("/etc/postgresql")
        versions = (
            sorted(p.name for p in clusters.iterdir()) if clusters.is_dir() else []
        )
        if not (found and versions):
            return None
        return [found, "--skip-systemctl-redirect", versions[-1], "main", "start"]


def listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
            return True
    except OSError:
        return False


async def why_not_answering(server: Server) -> str | None:
    """None when the server answers its own protocol, else why it does not."""
    try:
        if server.kind == "rabbitmq":
            connection = await aio_pika.connect(server.url, timeout=PROBE_TIMEOUT)
            await connection.close()
            return None
        # The server, not the database: it may not have been created yet.
        database = "postgres" if server.kind == "postgresql" else ""
        url = make_url(server.url).set(database=database)
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            await asyncio.wait_for(ping(engine), PROBE_TIMEOUT)
        finally:
            await engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def wait_answering(server: Server, timeout: float) -> None:
    """Wait until ``server`` answers; a server that is starting up gets time."""
    deadline = time.monotonic() + timeout
    while True:
        reason = asyncio.run(why_not_answering(server))
        if reason is None:
            return
        if time.monotonic() >= deadline:
            raise StackError(f"{server.address} does not answer: {reason}")
        time.sleep(POLL_INTERVAL)


def execute(command: Sequence[str]) -> None:
    """Run one of this module's own commands in the foreground; raise on failure."""
    # The command is built here from constants and settings, never from input.
    result = subprocess.run(  # noqa: S603
        command, cwd=ROOT, stdin=subprocess.DEVNULL, check=False
    )
    if result.returncode != 0:
        raise StackError(f"{shlex.join(command)} exited with {result.returncode}")


def ensure_server(server: Server, *, dry_run: bool = False) -> None:
    """Start ``server`` if it is down and this machine can, then wait for it."""
    if listening(server.host, server.port):
        wait_answering(server, SERVICE_ANSWER_TIMEOUT)
        say(f"{server.address}: answers")
        return

    command = server.start_command()
    if command is None:
        raise StackError(
            f"{server.address} is down and this machine cannot start it; "
            "start it, or point the URL at a running one (see .env.example)"
        )
    if dry_run:
        say(f"{server.address}: down; would run: {shlex.join(command)}")
        return

    say(f"{server.address}: down; running: {shlex.join(command)}")
    execute(command)
    wait_answering(server, SERVICE_START_TIMEOUT)
    say(f"{server.address}: started and answers")


def servers_of(settings: Iterable[ServiceSettings]) -> list[Server]:
    """The distinct servers the processes with these settings connect to."""
    found: dict[tuple[str, str, int], Server] = {}
    for each in settings:
        urls = [each.amqp_url]
        if isinstance(each, DatabaseSettings):
            urls.append(each.database_url)
        for url in urls:
            server = Server.from_url(url)
            found.setdefault((server.kind, server.host, server.port), server)
    return list(found.values())


def ensure_servers(servers: Sequence[Server], *, dry_run: bool = False) -> None:
    for server in servers:
        ensure_server(server, dry_run=dry_run)


# --------------------------------------------------------------- databases


def seeded_admin(settings: ServiceSettings) -> tuple[str, str] | None:
    """The admin account a seeder creates, when the settings name one."""
    email = getattr(settings, "admin_email", None)
    password = getattr(settings, "admin_password", None)
    if isinstance(email, str) and isinstance(password, str):
        return email, password
    return None


def migrate(
    processes: Sequence[Process], *, seed_count: int, dry_run: bool = False
) -> None:
    """Create each process's database, migrate it to head, and seed it."""
    for process in processes:
        settings = process.load_settings()
        if not isinstance(settings, DatabaseSettings):
            continue
        database = make_url(settings.database_url).database
        seed = (
            [sys.executable, "-m", process.seed, "--count", str(seed_count)]
            if process.seed
            else None
        )
        if dry_run:
            say(f"{process.name}: would create database {database} if missing")
            if process.alembic_ini:
                say(f"{process.name}: would migrate it with {rel(process.alembic_ini)}")
            if seed:
                say(f"{process.name}: would run: {shlex.join(seed)}")
            continue

        created = asyncio.run(ensure_database(settings.database_url))
        say(f"{process.name}: database {database} {'created' if created else 'exists'}")
        if process.alembic_ini:
            upgrade_sync(process.alembic_ini, settings.database_url)
            say(f"{process.name}: migrated to head")
        if seed:
            say(f"{process.name}: seeding: {shlex.join(seed)}")
            execute(seed)


# --------------------------------------------------------------- processes


def base_url(settings: ServiceSettings) -> str:
    # A process listening on every interface is reached on the loopback one.
    host = settings.http_host
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - an address compared, not bound
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}"


def pid_alive(pid: int, package: str) -> bool:
    """Whether ``pid`` is a live ``python -m <package>``.

    On Linux the command line is checked too, so a pid file left behind
    after a reboot never points at an unrelated process that reuses the pid.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        arguments = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return state != "Z" and package.encode() in arguments


def running_pid(process: Process) -> int | None:
    """The pid of ``process`` if it runs; a stale pid file is removed."""
    try:
        pid = int(process.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid_alive(pid, process.package):
        return pid
    process.pid_file.unlink(missing_ok=True)
    return None


def send_signal(pid: int, signum: int) -> None:
    """Signal the process and, when it leads one, its process group."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        pass


def stop_pid(pid: int, package: str, timeout: float) -> bool:
    """SIGTERM, wait up to ``timeout``, then SIGKILL; True if it stopped in time."""
    send_signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid, package):
            return True
        time.sleep(0.2)
    send_signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while pid_alive(pid, package) and time.monotonic() < deadline:
        time.sleep(0.2)
    return False


def readiness(url: str) -> tuple[bool, str]:
    """Whether ``url``/readyz answers 200, and what it said."""
    try:
        response = httpx.get(f"{url}/readyz", timeout=PROBE_TIMEOUT)
    except httpx.HTTPError as exc:
        return False, type(exc).__name__
    return response.status_code == 200, f"{response.status_code} {response.text}"


def log_tail(path: Path, offset: int, lines: int = 30) -> str:
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def start_process(
    process: Process, settings: ServiceSettings, *, timeout: float
) -> int:
    """Start ``process`` unless it runs, wait until it is ready; its pid."""
    url = base_url(settings)
    pid = running_pid(process)
    if pid is not None:
        ready, said = readiness(url)
        state = "ready" if ready else f"not ready ({said})"
        say(f"{process.name}: already running (pid {pid}), {state}")
        return pid
    if listening(urlsplit(url).hostname or "127.0.0.1", settings.http_port):
        raise StackError(
            f"{process.name}: port {settings.http_port} is taken by another program"
        )

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with process.log_file.open("ab") as log:
        offset = log.tell()
        child = subprocess.Popen(  # noqa: S603 - the module's own command
            [sys.executable, "-m", process.package],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C on this script must not reach it, and
            # it outlives this script.
            start_new_session=True,
        )
    process.pid_file.write_text(f"{child.pid}\n")
    say(f"{process.name}: started (pid {child.pid}), waiting for {url}/readyz")

    deadline = time.monotonic() + timeout
    said = "no answer"
    while time.monotonic() < deadline:
        if child.poll() is not None:
            said = f"exited with {child.returncode}"
            break
        ready, said = readiness(url)
        if ready:
            say(f"{process.name}: ready")
            return child.pid
        time.sleep(POLL_INTERVAL)

    if child.poll() is None:
        send_signal(child.pid, signal.SIGTERM)
        try:
            child.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            send_signal(child.pid, signal.SIGKILL)
            child.wait()
    process.pid_file.unlink(missing_ok=True)
    raise StackError(
        f"{process.name}: not ready ({said}); last lines of "
        f"{rel(process.log_file)}:\n{log_tail(process.log_file, offset)}"
    )


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


# ---------------------------------------------------------------- commands


def report_missing(processes: Iterable[Process]) -> None:
    for process in processes:
        if not process.built:
            missing = rel(process.directory / "__main__.py")
            say(f"{process.name}: not built yet (no {missing})")


def up(*, seed_count: int, timeout: float, dry_run: bool) -> None:
    report_missing(PROCESSES)
    processes = built_processes()
    if not processes:
        raise StackError("no process is built yet")
    settings = {process.name: process.load_settings() for process in processes}

    ensure_servers(servers_of(settings.values()), dry_run=dry_run)
    migrate(processes, seed_count=seed_count, dry_run=dry_run)

    if dry_run:
        for process in processes:
            command = [sys.executable, "-m", process.package]
            say(
                f"{process.name}: would run {shlex.join(command)} > "
                f"{rel(process.log_file)} and wait for "
                f"{base_url(settings[process.name])}/readyz"
            )
        return
    for process in processes:
        start_process(process, settings[process.name], timeout=timeout)

    rows = [("process", "URL", "docs", "log")]
    for process in processes:
        url = base_url(settings[process.name])
        rows.append((process.name, url, f"{url}/docs", rel(process.log_file)))
    say("")
    say(table(rows))
    for process in processes:
        each = settings[process.name]
        admin = seeded_admin(each) if process.seed else None
        if admin is None:
            continue
        email, password = admin
        email_variable = env_name(type(each), "admin_email")
        password_variable = env_name(type(each), "admin_password")
        if each.environment == "production":
            password = f"(the value of {password_variable})"
        say(
            f"\nSeeded admin: {email} / {password}\n"
            f"(set by {email_variable} and {password_variable} when the admin "
            "was first seeded; the seeder never changes an existing account)"
        )
    say("\nStop with: bash infra/scripts/down.sh")


def down(*, timeout: float) -> None:
    for process in reversed(PROCESSES):
        pid = running_pid(process)
        if pid is None:
            if process.built:
                say(f"{process.name}: not running")
            continue
        say(
            f"{process.name}: stopping pid {pid} (SIGTERM, SIGKILL after {timeout:g} s)"
        )
        started = time.monotonic()
        if stop_pid(pid, process.package, timeout):
            say(f"{process.name}: stopped in {time.monotonic() - started:.1f} s")
        else:
            say(f"{process.name}: did not stop in {timeout:g} s; killed")
        process.pid_file.unlink(missing_ok=True)


def status() -> bool:
    """Print each process's state; True if every built one runs and is ready."""
    healthy = True
    rows = [("process", "state", "URL", "log")]
    for process in PROCESSES:
        if not process.built:
            rows.append((process.name, "not built", "", ""))
            continue
        url = base_url(process.load_settings())
        pid = running_pid(process)
        if pid is None:
            healthy = False
            rows.append((process.name, "stopped", url, rel(process.log_file)))
            continue
        ready, said = readiness(url)
        healthy = healthy and ready
        state = f"running (pid {pid}), " + ("ready" if ready else f"not ready: {said}")
        rows.append((process.name, state, url, rel(process.log_file)))
    say(table(rows))
    return healthy


# ------------------------------------------------------------ .env.example

ENV_HEADER = """\
# StreamFlow's environment, with development defaults. Copy it to .env (git
# ignores .env) and change what you need: every process reads .env from the
# repository root, and a variable set in the real environment wins over it.
#
# Each process reads only the variables with its own prefix, so two processes
# may use different values (USERS_AMQP_URL, AUTH_AMQP_URL ...).
#
# Secrets: with <PREFIX>_ENVIRONMENT=production a process refuses to start
# while a variable marked "refused in production as a placeholder" holds a
# development default or placeholder (changeme, secret, Admin123! ...), or
# while its AMQP URL logs in as guest:guest. A commented-out variable is
# unset; the value after "=", if any, is the default it then takes.
#
# Generated from the settings classes by
#   uv run python -m infra.scripts.stack env-example
# (a unit test fails when this file and the settings classes differ).
"""

ENV_FOOTER = """\
# ---- docker-compose.yml only ----------------------------------------------
# Root password of the MariaDB container; the compose file puts it into the
# users context's database URL as it is, so keep to letters and digits.
MARIADB_ROOT_PASSWORD=changeme
# Password of the PostgreSQL container's postgres user; the compose file puts
# it into the PostgreSQL contexts' database URLs the same way.
POSTGRES_PASSWORD=changeme

# ---- tests (read from the real environment only, not from .env) -----------
# Where the integration and end-to-end tests find the services: server URLs
# without a database name. When none is set, tests start containers if a
# Docker engine answers, else use the local services on their default ports.
# .ci/run sets all three to the local services.
# STREAMFLOW_TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/
# STREAMFLOW_TEST_MARIADB_URL=mysql+aiomysql://root@127.0.0.1:3306/
# STREAMFLOW_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/
# Prefix of the databases the tests create (<prefix>_<context>); default sf_test.
# STREAMFLOW_TEST_DB_PREFIX=sf_test
"""


def env_value(value: Any) -> str | None:
    """A default as .env spells it; None when it has no value to show."""
    if value is None:
        return None
    if isinstance(value, Path):
        return rel(value)
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, list | dict | tuple):
        return json.dumps(value, default=str)
    return str(value)


def holds_secret_str(field: FieldInfo) -> bool:
    return SecretStr in (field.annotation, *get_args(field.annotation))


def is_secret(field: FieldInfo) -> bool:
    return field.repr is False or holds_secret_str(field)


def refused_in_production(settings_type: type[ServiceSettings]) -> set[str]:
    """The fields whose placeholder values production refuses.

    ``secret_fields`` may name a secret only once it is set, so it is asked
    with every secret set to a placeholder (built without reading the
    environment, which may hold anything).
    """
    placeholders: dict[str, Any] = {
        name: SecretStr("changeme") if holds_secret_str(field) else "changeme"
        for name, field in settings_type.model_fields.items()
        if is_secret(field)
    }
    return set(settings_type.model_construct(**placeholders).secret_fields())


def env_section(process: Process) -> str:
    """The variables of ``process``: a comment line, then the default.

    A variable with no default, or whose default is computed from where the
    checkout lies (a path), is shown commented out, so .env leaves it unset.
    """
    settings_type = process.settings_type()
    refused = refused_in_production(settings_type)
    lines = [f"# ---- {process.name}: python -m {process.package} ".ljust(78, "-")]
    for name, field in settings_type.model_fields.items():
        description = " ".join((field.description or name).split())
        if name in refused:
            description = (
                f"Secret, refused in production as a placeholder. {description}"
            )
        elif is_secret(field):
            description = f"Secret. {description}"
        lines.append(f"# {description}")
        default = field.get_default(call_default_factory=True)
        value = env_value(default)
        variable = env_name(settings_type, name)
        if value is None or isinstance(default, Path):
            lines.append(f"# {variable}={value or ''}")
        else:
            lines.append(f"{variable}={value}")
    return "\n".join(lines) + "\n"


def env_example() -> str:
    sections = [env_section(process) for process in PROCESSES if process.has_settings]
    return "\n".join([ENV_HEADER, *sections, ENV_FOOTER])


# --------------------------------------------------------------------- CLI


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m infra.scripts.stack",
        description="Run StreamFlow's processes on this machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    up_parser = commands.add_parser(
        "up", help="start services, migrate, seed, start every process"
    )
    up_parser.add_argument("--seed-count", type=int, default=DEFAULT_SEED_COUNT)
    up_parser.add_argument(
        "--timeout",
        type=float,
        default=READY_TIMEOUT,
        help="seconds each process gets to become ready",
    )
    up_parser.add_argument(
        "--dry-run", action="store_true", help="say what would be done, do nothing"
    )

    down_parser = commands.add_parser("down", help="stop every process gracefully")
    down_parser.add_argument(
        "--timeout",
        type=float,
        default=STOP_TIMEOUT,
        help="seconds a process gets to finish after SIGTERM, before SIGKILL",
    )

    commands.add_parser("status", help="which process runs and is ready")

    migrate_parser = commands.add_parser(
        "migrate", help="create databases, migrate them, seed"
    )
    migrate_parser.add_argument("--seed-count", type=int, default=DEFAULT_SEED_COUNT)
    migrate_parser.add_argument("--dry-run", action="store_true")

    services_parser = commands.add_parser(
        "services", help="start the local services that are down, wait for them"
    )
    services_parser.add_argument(
        "urls",
        nargs="*",
        metavar="URL",
        help="servers to check (default: those the built processes use)",
    )
    services_parser.add_argument("--dry-run", action="store_true")

    example_parser = commands.add_parser(
        "env-example", help="write .env.example from the settings classes"
    )
    example_parser.add_argument(
        "--check", action="store_true", help="exit 1 if .env.example is stale"
    )
    return parser.parse_args(argv)


def run(arguments: argparse.Namespace) -> int:
    match arguments.command:
        case "up":
            up(
                seed_count=arguments.seed_count,
                timeout=arguments.timeout,
                dry_run=arguments.dry_run,
            )
        case "down":
            down(timeout=arguments.timeout)
        case "status":
            return 0 if status() else 3
        case "migrate":
            report_missing(PROCESSES)
            migrate(
                built_processes(),
                seed_count=arguments.seed_count,
                dry_run=arguments.dry_run,
            )
        case "services":
            servers = (
                [Server.from_url(url) for url in arguments.urls]
                if arguments.urls
                else servers_of(p.load_settings() for p in built_processes())
            )
            ensure_servers(servers, dry_run=arguments.dry_run)
        case "env-example":
            text = env_example()
            if arguments.check:
                current = ENV_EXAMPLE.read_text() if ENV_EXAMPLE.exists() else ""
                if current != text:
                    say(f"{rel(ENV_EXAMPLE)} is stale; run without --check")
                    return 1
                return 0
            ENV_EXAMPLE.write_text(text)
            say(f"wrote {rel(ENV_EXAMPLE)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse(sys.argv[1:] if argv is None else argv)
    # Settings classes read .env relative to the working directory.
    os.chdir(ROOT)
    try:
        return run(arguments)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
