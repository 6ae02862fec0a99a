"""What a command round trip costs: bus.rpc.CommandClient against plain aio-pika.

    uv run python infra/bench/rpc.py [--requests N] [--warmup N] [--rounds N]

Starts a command server in a process of its own (a FastStream app built with
``bus.broker.create_broker`` and ``ReliablePublisher``, answering a trivial
command on a throwaway queue), so that server and clients run on separate
cores. Then, in this process and in the same run, it measures two clients
against that server, one request at a time and 20 at a time:

- ``helper``: ``bus.rpc.CommandClient.send``, models in and out;
- ``plain``: a bare aio-pika client written here, with one consumer on the
  direct reply-to pseudo-queue and futures matched by correlation id.

Each measurement sends a fixed number of requests after a warm-up; rounds
alternate the clients' order. The table shows each figure's median over the
rounds, with the CPU time each request cost the client process and the
server process (a figure other load on the machine hardly moves); the ratios
are medians of ratios taken within a round, whose two measurements share the
machine's load of the moment. Server and clients run on uvloop, as the
services do under uvicorn (``--loop asyncio`` for the default loop).

Targets: the helper keeps at least 0.8x the plain client's throughput at 20
concurrent requests, and its p50 one at a time stays under 1.5 ms. The exit
status is 1 when a target is missed. RabbitMQ must be at 127.0.0.1.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import urlsplit
from uuid import uuid4

import aio_pika
import uvloop
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from faststream import FastStream
from faststream.rabbit import RabbitQueue
from pydantic import Field

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    # Run as a script: the repository's packages are importable from its root.
    sys.path.insert(0, str(ROOT))

from bus.broker import consumer_channel, create_broker  # noqa: E402
from bus.logging import configure_logging  # noqa: E402
from bus.messages import Command, Contract  # noqa: E402
from bus.publisher import ReliablePublisher  # noqa: E402
from bus.replies import Reply  # noqa: E402
from bus.rpc import REPLY_TO, CommandClient  # noqa: E402
from bus.settings import ServiceSettings  # noqa: E402

LOOPBACK = "127.0.0.1"
CONCURRENCY = (1, 20)
MAX_REQUESTS = 50_000
REQUEST_TIMEOUT = 5.0
SERVER_START_TIMEOUT = 30.0
THROUGHPUT_TARGET = 0.8
P50_TARGET_MS = 1.5

T = TypeVar("T")


class Ping(Command):
    """The benchmark's command: a number the server sends back."""

    name: ClassVar[str] = "bench.rpc.ping"
    n: int = Field(description="Any number.")


def ping_to(queue: str) -> type[Ping]:
    """Ping, sent to ``queue``: each run has a throwaway queue of its own, so a
    server left over from another run can never answer this one."""
    return cast("type[Ping]", type("Ping", (Ping,), {"name": queue}))


class Pong(Contract):
    """The benchmark's reply."""

    n: int = Field(description="The number the ping carried.")


# -- the server (a process of its own) ----------------------------------------


def build_server(amqp_url: str, queue_name: str) -> FastStream:
    # Log lines go to stderr: stdout only tells the parent the server is ready.
    configure_logging("WARNING")
    settings = ServiceSettings(amqp_url=amqp_url)
    publisher = ReliablePublisher(amqp_url)
    broker = create_broker(settings, service="bench", publisher=publisher)
    queue = RabbitQueue(queue_name, durable=False, auto_delete=True)

    @broker.subscriber(queue, channel=consumer_channel(settings))
    async def ping(command: Ping) -> Reply[Pong]:
        """Answer at once: the benchmark measures the plumbing, not work."""
        return Reply[Pong](result=Pong(n=command.n))

    app = FastStream(broker, logger=None)
    app.on_startup(publisher.connect)
    app.on_shutdown(publisher.close)
    app.after_startup(lambda: print("ready", flush=True))
    return app


def run(main: Coroutine[Any, Any, T], loop: str) -> T:
    if loop == "uvloop":
        return uvloop.run(main)
    return asyncio.run(main)


async def start_server(
    amqp_url: str, queue: str, loop: str
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        queue,
        "--amqp-url",
        amqp_url,
        "--loop",
        loop,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(SERVER_START_TIMEOUT):
            while (line := await process.stdout.readline()) != b"ready\n":
                if not line:
                    raise RuntimeError("the benchmark server exited at start")
    except BaseException:
        await stop_server(process)
        raise
    return process


async def stop_server(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()


# -- the clients ---------------------------------------------------------------


class PlainClient:
    """Request/reply over aio-pika alone: the baseline the helper is held to."""

    def __init__(self) -> None:
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._waiting: dict[str, asyncio.Future[bytes]] = {}

    async def connect(self, amqp_url: str) -> None:
        self._connection = await aio_pika.connect(amqp_url)
        self._channel = await self._connection.channel(publisher_confirms=False)
        replies = await self._channel.get_queue(REPLY_TO, ensure=False)
        await replies.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def call(self, queue: str, body: bytes) -> bytes:
        assert self._channel is not None
        correlation_id = uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = future
        try:
            await self._channel.default_exchange.publish(
                aio_pika.Message(
                    body,
                    content_type="application/json",
                    correlation_id=correlation_id,
                    reply_to=REPLY_TO,
                ),
                routing_key=queue,
            )
            return await asyncio.wait_for(future, REQUEST_TIMEOUT)
        finally:
            self._waiting.pop(correlation_id, None)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._waiting.get(message.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(message.body)


# -- measuring -----------------------------------------------------------------

Call = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    # CPU time per request, a figure the machine's other load hardly moves.
    client_cpu_us: float
    server_cpu_us: float


Samples = dict[tuple[str, int], list[Sample]]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_requests(call: Call, count: int, concurrency: int) -> list[float]:
    """Send ``count`` requests over ``concurrency`` workers; their latencies."""
    latencies: list[float] = []
    numbers: Iterator[int] = iter(range(count))

    async def worker() -> None:
        # One shared iterator: each request is taken by exactly one worker.
        for n in numbers:
            started = time.perf_counter()
            await call(n)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def measure(
    call: Call, *, server: int, concurrency: int, requests: int, warmup: int
) -> Sample:
    await run_requests(call, warmup, concurrency)
    server_cpu = cpu_seconds(server)
    client_cpu = time.process_time()
    started = time.perf_counter()
    latencies = await run_requests(call, requests, concurrency)
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = cpu_seconds(server) - server_cpu
    latencies.sort()
    return Sample(
        rps=requests / elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        client_cpu_us=client_cpu / requests * 1e6,
        server_cpu_us=server_cpu / requests * 1e6,
    )


async def benchmark(args: argparse.Namespace) -> Samples:
    helper = CommandClient(args.amqp_url, default_timeout=REQUEST_TIMEOUT)
    plain = PlainClient()

    ping = ping_to(f"bench.rpc.{uuid4().hex[:12]}")

    async def helper_call(n: int) -> None:
        reply = await helper.send(ping(n=n), Pong)
        if reply.result is None or reply.result.n != n:
            raise RuntimeError(f"wrong reply to ping {n}: {reply}")

    async def plain_call(n: int) -> None:
        await plain.call(ping.name, ping(n=n).model_dump_json().encode())

    calls: dict[str, Call] = {"plain": plain_call, "helper": helper_call}
    server = await start_server(args.amqp_url, ping.name, args.loop)
    samples: Samples = {}
    try:
        await helper.connect()
        await plain.connect(args.amqp_url)
        for round_number in range(args.rounds):
            # Alternate who goes first, so neither always meets a warmer server.
            order = list(calls) if round_number % 2 == 0 else list(calls)[::-1]
            for concurrency in CONCURRENCY:
                for client in order:
                    sample = await measure(
                        calls[client],
                        server=server.pid,
                        concurrency=concurrency,
                        requests=args.requests,
                        warmup=args.warmup,
                    )
                    samples.setdefault((client, concurrency), []).append(sample)
    finally:
        await helper.close()
        await plain.close()
        await stop_server(server)
    return samples


def median(samples: Samples, client: str, concurrency: int, figure: str) -> float:
    values = [float(getattr(s, figure)) for s in samples[client, concurrency]]
    return statistics.median(values)


def ratio(samples: Samples, concurrency: int, figure: str) -> float:
    """helper / plain, paired within each round, then the median over rounds.

    Pairs measured a few seconds apart share the machine's load of the
    moment, which a ratio of overall medians would not.
    """
    pairs = zip(
        samples["helper", concurrency], samples["plain", concurrency], strict=True
    )
    return statistics.median(
        float(getattr(helper, figure)) / float(getattr(plain, figure))
        for helper, plain in pairs
    )


def report(samples: Samples, args: argparse.Namespace) -> bool:
    print(
        f"{args.requests} requests per measurement after {args.warmup} warm-up, "
        f"median of {args.rounds} rounds, {args.loop}"
    )
    print(
        f"{'client':<8}{'concurrency':>12}{'requests/s':>12}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'client CPU µs':>15}{'server CPU µs':>15}"
    )
    for concurrency in CONCURRENCY:
        for client in ("plain", "helper"):
            figures = {
                figure: median(samples, client, concurrency, figure)
                for figure in Sample.__dataclass_fields__
            }
            print(
                f"{client:<8}{concurrency:>12}{figures['rps']:>12.0f}"
                f"{figures['p50_ms']:>9.2f}{figures['p99_ms']:>9.2f}"
                f"{figures['client_cpu_us']:>15.0f}{figures['server_cpu_us']:>15.0f}"
            )
    print("\nhelper / plain (median of per-round ratios)")
    for concurrency in CONCURRENCY:
        print(
            f"  concurrency {concurrency:>2}: "
            f"requests/s {ratio(samples, concurrency, 'rps'):.2f}x, "
            f"p50 {ratio(samples, concurrency, 'p50_ms'):.2f}x, "
            f"p99 {ratio(samples, concurrency, 'p99_ms'):.2f}x, "
            f"client CPU {ratio(samples, concurrency, 'client_cpu_us'):.2f}x, "
            f"server CPU {ratio(samples, concurrency, 'server_cpu_us'):.2f}x"
        )

    throughput = ratio(samples, 20, "rps")
    p50 = median(samples, "helper", 1, "p50_ms")
    throughput_met = throughput >= THROUGHPUT_TARGET
    latency_met = p50 < P50_TARGET_MS
    print("\ntargets")
    print(
        f"  throughput at 20 >= {THROUGHPUT_TARGET}x plain: {throughput:.2f}x "
        f"{'met' if throughput_met else 'MISSED'}"
    )
    print(
        f"  helper p50 at 1 < {P50_TARGET_MS} ms: {p50:.2f} ms "
        f"{'met' if latency_met else 'MISSED'}"
    )
    return throughput_met and latency_met


def loopback_url(value: str) -> str:
    if urlsplit(value).hostname != LOOPBACK:
        raise argparse.ArgumentTypeError(f"RabbitMQ must be at {LOOPBACK}")
    return value


def bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"between {low} and {high}")
        return number

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Command round trips: bus.rpc.CommandClient against a plain "
        "aio-pika client, one at a time and 20 at a time.",
    )
    parser.add_argument(
        "--amqp-url",
        type=loopback_url,
        default=f"amqp://guest:guest@{LOOPBACK}:5672/",
        help="RabbitMQ to use; must be at 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--requests",
        type=bounded(100, MAX_REQUESTS),
        default=3000,
        help="requests per measurement (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=bounded(0, MAX_REQUESTS),
        default=300,
        help="requests before each measurement (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=bounded(1, 9),
        default=3,
        help="repetitions; figures are medians (default: %(default)s)",
    )
    parser.add_argument(
        "--max-seconds",
        type=bounded(10, 3600),
        default=600,
        help="give up after this long (default: %(default)s)",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop of server and clients; the services run on uvloop "
        "under uvicorn (default: %(default)s)",
    )
    # Internal: run as the benchmark's server, consuming the queue named.
    parser.add_argument("--serve", metavar="QUEUE", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    async with asyncio.timeout(args.max_seconds):
        samples = await benchmark(args)
    return 0 if report(samples, args) else 1


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve:
        run(build_server(arguments.amqp_url, arguments.serve).run(), arguments.loop)
    else:
        sys.exit(run(main(arguments), arguments.loop))
