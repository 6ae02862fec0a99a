"""What the gateway costs: one read through it against the same read direct.

    uv run python infra/bench/gateway.py [--requests N] [--concurrency 1,50]
        [--rounds N] [--amqp-url amqp://.../<vhost>]

Starts users, auth and the gateway on free ports against databases of their
own (``<db-prefix>_users``, ``<db-prefix>_auth``: created, migrated and
seeded here), registers and logs in a fresh account through the gateway, then
measures, in the same run and at each concurrency:

- ``GET /usuarios/{id}`` through the gateway, with the access token;
- ``GET /users/{id}`` directly on the users context, with the identity
  headers the gateway would have added.

The processes share RabbitMQ with anything else on the same vhost; the
benchmark refuses to run when another stack consumes its commands there, so
beside a running development stack give it a vhost of its own.
``--gateway-url`` and ``--users-url`` measure processes already running
instead. Every address must be 127.0.0.1.

The load comes from an aiohttp client in a process of its own, so it does not
compete with the measured servers for the interpreter. Each run sends a fixed
number of requests (after a warm-up) over ``concurrency`` keep-alive
connections and reports requests per second, p50 and p99. Direct and gateway
runs alternate for ``--rounds`` rounds, spreading drift in the machine's load
over both, and the medians are compared. Targets: the gateway keeps at least
half the direct throughput at 50 connections, and adds at most 1 ms to the
p50 at one connection.
"""

import argparse
import asyncio
import json
import multiprocessing
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import aiohttp
import uvloop

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    # Run as a script: the repository's packages are importable from its root.
    sys.path.insert(0, str(ROOT))

from bus.commands import Login, RegisterUser  # noqa: E402
from bus.db import ensure_database, upgrade  # noqa: E402
from bus.identity import ROLE_HEADER, USER_ID_HEADER  # noqa: E402
from tests.support.processes import (  # noqa: E402
    ServiceProcess,
    free_port,
    run_to_completion,
)

LOOPBACK = "127.0.0.1"
THROUGHPUT_TARGET = 0.5
ADDED_P50_TARGET_MS = 1.0


@dataclass(frozen=True)
class Result:
    name: str
    concurrency: int
    requests: int
    seconds: float
    latencies_ms: Sequence[float]
    failures: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[98]


# ------------------------------------------------------------------ load


async def _load(
    url: str, headers: Mapping[str, str], requests: int, warmup: int, concurrency: int
) -> tuple[float, list[float], int]:
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    latencies: list[float] = []
    failures = 0
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker(count: int, record: bool) -> None:
            nonlocal failures
            for _ in range(count):
                started = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                if record:
                    latencies.append((time.perf_counter() - started) * 1000)
                    failures += not ok

        def split(total: int) -> list[int]:
            share, extra = divmod(total, concurrency)
            return [share + (1 if i < extra else 0) for i in range(concurrency)]

        await asyncio.gather(*(worker(n, False) for n in split(warmup)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(n, True) for n in split(requests)))
        seconds = time.perf_counter() - started
    return seconds, latencies, failures


def run_load(
    url: str, headers: dict[str, str], requests: int, warmup: int, concurrency: int
) -> tuple[float, list[float], int]:
    """The load generator's entry point, in its own process."""
    return uvloop.run(_load(url, headers, requests, warmup, concurrency))


# ------------------------------------------------------------------ stack


@dataclass(frozen=True)
class Target:
    gateway_url: str
    users_url: str


async def _migrate(url: str, alembic_ini: Path) -> None:
    await ensure_database(url)
    await upgrade(alembic_ini, url)


@asynccontextmanager
async def started_stack(args: argparse.Namespace, logs: Path) -> AsyncIterator[Target]:
    """Users, auth and the gateway, seeded and ready."""
    users_db = f"{args.mariadb_url.rstrip('/')}/{args.db_prefix}_users"
    auth_db = f"{args.postgres_url.rstrip('/')}/{args.db_prefix}_auth"
    await _migrate(auth_db, ROOT / "contexts/auth/alembic.ini")
    users_port, auth_port, gateway_port = free_port(), free_port(), free_port()
    common = {"AMQP_URL": args.amqp_url, "LOG_LEVEL": "WARNING", "LOG_JSON": "1"}

    def env(prefix: str, **values: str) -> dict[str, str]:
        return {
            **{f"{prefix}_{key}": value for key, value in common.items()},
            **{f"{prefix}_{key.upper()}": value for key, value in values.items()},
        }

    users_env = env(
        "USERS",
        http_port=str(users_port),
        database_url=users_db,
        admin_password="Adm1n-" + secrets.token_urlsafe(12),
    )
    await run_to_completion(
        "contexts.users.seed",
        "--count",
        str(args.seed_count),
        env=users_env,
        log_path=logs / "seed.log",
    )
    processes = [
        ServiceProcess(
            "users", "contexts.users", users_port, users_env, logs / "users.log"
        ),
        ServiceProcess(
            "auth",
            "contexts.auth",
            auth_port,
            env(
                "AUTH",
                http_port=str(auth_port),
                database_url=auth_db,
                users_url=f"http://{LOOPBACK}:{users_port}",
                dev_keys_dir=str(logs / "keys"),
            ),
            logs / "auth.log",
        ),
        ServiceProcess(
            "gateway",
            "gateway",
            gateway_port,
            env(
                "GATEWAY",
                http_port=str(gateway_port),
                users_url=f"http://{LOOPBACK}:{users_port}",
                auth_url=f"http://{LOOPBACK}:{auth_port}",
            ),
            logs / "gateway.log",
        ),
    ]
    async with AsyncExitStack() as stack:
        for process in processes:
            await process.start()
            stack.push_async_callback(process.stop)
        for process in processes:
            await process.wait_ready()
        await _alone_on_the_vhost(args.amqp_url)
        yield Target(gateway_url=processes[2].url, users_url=processes[0].url)


async def _alone_on_the_vhost(amqp_url: str) -> None:
    """Refuse to run beside another stack on the same vhost.

    Its contexts would take some of the commands (the registration, the
    login) and answer them from their own databases.
    """
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for command in (RegisterUser, Login):
            queue = await channel.declare_queue(command.name, passive=True)
            result = queue.declaration_result
            if (result.consumer_count or 0) > 1:
                raise SystemExit(
                    f"another process consumes {command.name} on this vhost; "
                    "pass --amqp-url with a vhost of the benchmark's own"
                )


# ------------------------------------------------------------------ run


def _loopback_only(*urls: str) -> None:
    for url in urls:
        if urlsplit(url).hostname != LOOPBACK:
            raise SystemExit(f"refusing {url}: the benchmark talks to 127.0.0.1 only")


async def _sign_up(target: Target) -> tuple[str, str, str]:
    """A fresh account, registered and logged in through the gateway.

    Returns its access token, id and role.
    """
    email = f"bench-{secrets.token_hex(6)}@example.com"
    password = "Bench-" + secrets.token_urlsafe(12)
    credentials = {"email": email, "password": password}
    async with aiohttp.ClientSession(base_url=target.gateway_url) as session:
        async with session.post("/usuarios", json=credentials) as registered:
            if registered.status != 201:
                raise SystemExit(f"registration failed: {registered.status}")
            user = await registered.json()
        async with session.post("/auth/login", json=credentials) as logged_in:
            if logged_in.status != 200:
                raise SystemExit(f"login failed: {logged_in.status}")
            token = (await logged_in.json())["access_token"]
    return token, user["id"], user["role"]


async def measure(target: Target, args: argparse.Namespace) -> list[Result]:
    """Direct and gateway runs, alternating, ``rounds`` times per concurrency."""
    token, user_id, role = await _sign_up(target)
    scenarios = {
        "direct": (
            f"{target.users_url}/users/{user_id}",
            {USER_ID_HEADER: user_id, ROLE_HEADER: role},
        ),
        "gateway": (
            f"{target.gateway_url}/usuarios/{user_id}",
            {"authorization": f"Bearer {token}"},
        ),
    }
    results = []
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        for concurrency in args.concurrency:
            for _ in range(args.rounds):
                for name, (url, headers) in scenarios.items():
                    seconds, latencies, failures = await loop.run_in_executor(
                        pool,
                        run_load,
                        url,
                        headers,
                        args.requests,
                        args.warmup,
                        concurrency,
                    )
                    result = Result(
                        name, concurrency, args.requests, seconds, latencies, failures
                    )
                    print(_row(result), flush=True)
                    results.append(result)
    return results


def _row(result: Result) -> str:
    return (
        f"{result.name:<8} {result.concurrency:>5} {result.requests:>9} "
        f"{result.rps:>10.0f} {result.p50:>8.2f} {result.p99:>8.2f} "
        f"{result.failures:>8}"
    )


@dataclass(frozen=True)
class Summary:
    """Medians over the rounds of one target at one concurrency."""

    rps: float
    p50: float
    p99: float


def _summary(results: Sequence[Result]) -> Summary:
    return Summary(
        rps=statistics.median(r.rps for r in results),
        p50=statistics.median(r.p50 for r in results),
        p99=statistics.median(r.p99 for r in results),
    )


def report(results: Sequence[Result]) -> bool:
    """Print the medians and ratios; True when every target is met."""
    met = True
    print("\nmedians over the rounds:")
    for concurrency in sorted({r.concurrency for r in results}):
        direct, gateway = (
            _summary([r for r in results if (r.name, r.concurrency) == key])
            for key in (("direct", concurrency), ("gateway", concurrency))
        )
        ratio = gateway.rps / direct.rps
        added = gateway.p50 - direct.p50
        print(
            f"c={concurrency}: direct {direct.rps:.0f} req/s p50 {direct.p50:.2f} ms "
            f"p99 {direct.p99:.2f} ms | gateway {gateway.rps:.0f} req/s "
            f"p50 {gateway.p50:.2f} ms p99 {gateway.p99:.2f} ms"
        )
        line = f"     throughput gateway/direct {ratio:.2f}x, p50 added {added:.2f} ms"
        if concurrency == 1:
            ok = added <= ADDED_P50_TARGET_MS
            line += f"  [p50 target <= {ADDED_P50_TARGET_MS} ms: {_verdict(ok)}]"
            met &= ok
        if concurrency >= 50:
            ok = ratio >= THROUGHPUT_TARGET
            line += f"  [throughput target >= {THROUGHPUT_TARGET}x: {_verdict(ok)}]"
            met &= ok
        print(line)
    failures = sum(r.failures for r in results)
    if failures:
        print(f"{failures} requests did not answer 200")
        met = False
    return met


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per run")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured, per run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs per target and concurrency"
    )
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 50],
        help="comma-separated connection counts (default 1,50)",
    )
    parser.add_argument("--gateway-url", help="measure this running gateway")
    parser.add_argument("--users-url", help="... and this running users context")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument(
        "--mariadb-url", default="mysql+aiomysql://root@127.0.0.1:3306/"
    )
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/"
    )
    parser.add_argument("--db-prefix", default="sf_bench")
    parser.add_argument("--seed-count", type=int, default=50)
    parser.add_argument("--logs", type=Path, help="process logs (default: a temp dir)")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    if args.requests < 100 or min(args.concurrency) < 1 or args.rounds < 1:
        parser.error("--requests >= 100, concurrency >= 1 and --rounds >= 1")
    if bool(args.gateway_url) != bool(args.users_url):
        parser.error("--gateway-url and --users-url go together")
    return args


async def main(args: argparse.Namespace) -> bool:
    header = f"{'target':<8} {'conns':>5} {'requests':>9} {'req/s':>10} "
    header += f"{'p50 ms':>8} {'p99 ms':>8} {'failed':>8}"
    if args.gateway_url:
        _loopback_only(args.gateway_url, args.users_url)
        target = Target(args.gateway_url, args.users_url)
        print(header, flush=True)
        return report(await measure(target, args))

    _loopback_only(args.amqp_url, args.mariadb_url, args.postgres_url)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="sf-bench-"))
    print(f"starting users, auth and the gateway (logs in {logs}) ...", flush=True)
    async with started_stack(args, logs) as target:
        print(header, flush=True)
        results = await measure(target, args)
    return report(results)


if __name__ == "__main__":
    arguments = parse_args()
    met = asyncio.run(main(arguments))
    print(json.dumps({"targets_met": met}))
    sys.exit(1 if arguments.strict and not met else 0)
