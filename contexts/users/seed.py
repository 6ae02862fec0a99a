"""Seed the users database: ``python -m contexts.users.seed [--count N]``.

Creates the database and migrates it if needed, then adds the admin
(``USERS_ADMIN_EMAIL`` / ``USERS_ADMIN_PASSWORD``) and ``N`` fake users
(default 50), and publishes their ``user.created`` events.

Decisions:

- Re-running adds nothing twice. The fake users come from a fixed Faker seed,
  user ``i`` always gets the same unique email (``<first>.<last>.<i>@...``),
  and emails already in the table are skipped; a larger ``--count`` adds only
  the users past the ones already there.
- Every fake user shares one password (``USERS_SEED_PASSWORD``), hashed
  once: argon2id costs tens of milliseconds a hash by design, so hashing
  10,000 passwords one by one would take minutes on two cores. The price is
  that fake users share one salt, which only fake development data may.
- Users are inserted in batches; each batch is one transaction holding the
  users and their ``user.created`` outbox rows, so a crash leaves no user
  without its event. The seeder then publishes the outbox itself with
  ``OutboxRelay.relay_once`` until every row is published; a running users
  service may relay the same table at once, which the relay's row locking
  makes safe. "Published" in the summary counts both.
- Fake users are refused in production; the admin is not.
"""

import argparse
import asyncio
import re
import sys
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from uuid import uuid4

import structlog
from faker import Faker
from sqlalchemy import insert
from sqlmodel import col, func, select
from tqdm import tqdm

from bus.broker import declare_topology
from bus.events import UserCreated
from bus.logging import configure_logging
from bus.messages import Role
from bus.outbox import OutboxMessage, stage
from bus.service import ServiceRuntime
from contexts.users.app import prepare_database
from contexts.users.models import User, now
from contexts.users.service import (
    add_account,
    email_taken,
    hash_password,
    normalise_email,
)
from contexts.users.settings import UsersSettings

log = structlog.get_logger(__name__)

FAKER_SEED = 20_240_601
FAKER_LOCALE = "es_CL"
DOMAINS = ("example.com", "example.org", "example.net")
PREMIUM_SHARE = 0.2
BATCH_SIZE = 1000
# Seconds the seeder keeps relaying while no row gets published.
PUBLISH_PATIENCE = 10.0
ADMIN_NAME = "StreamFlow Admin"


@dataclass(frozen=True, slots=True)
class FakeUser:
    email: str
    full_name: str
    role: Role


@dataclass(slots=True)
class SeedReport:
    admin_created: bool = False
    created: int = 0
    skipped: int = 0
    published: int = 0
    pending: int = 0


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_name.lower())


def batches(users: Iterator[FakeUser], size: int) -> Iterator[list[FakeUser]]:
    while batch := list(islice(users, size)):
        yield batch


def fake_users(count: int) -> Iterator[FakeUser]:
    """The first ``count`` fake users; the same ones on every run."""
    faker = Faker(FAKER_LOCALE)
    faker.seed_instance(FAKER_SEED)
    for number in range(1, count + 1):
        first, last = faker.first_name(), faker.last_name()
        domain = DOMAINS[number % len(DOMAINS)]
        premium = faker.random.random() < PREMIUM_SHARE
        yield FakeUser(
            email=f"{_slug(first)}.{_slug(last)}.{number}@{domain}",
            full_name=f"{first} {last}",
            role=Role.PREMIUM if premium else Role.FREE,
        )


async def ensure_admin(runtime: ServiceRuntime, settings: UsersSettings) -> bool:
    """Create the admin unless its email exists; True if created.

    An existing account is left as it is (its password is not reset).
    """
    email = normalise_email(settings.admin_email)
    async with runtime.sessions() as session, session.begin():
        if await email_taken(session, email):
            return False
        admin = await add_account(
            session,
            email,
            password=settings.admin_password,
            full_name=ADMIN_NAME,
            role=Role.ADMIN,
        )
    log.info("seed.admin_created", user_id=str(admin.id))
    return True


async def insert_batch(
    runtime: ServiceRuntime, batch: Sequence[FakeUser], password_hash: str
) -> int:
    """Insert the users of ``batch`` not yet in the table; how many were new."""
    created_at = now()
    async with runtime.sessions() as session, session.begin():
        emails = [fake.email for fake in batch]
        found = await session.exec(
            select(User.email).where(col(User.email).in_(emails))
        )
        existing = set(found.all())
        new = [(uuid4(), fake) for fake in batch if fake.email not in existing]
        if not new:
            return 0

        # Rows rather than User objects: the ORM's bulk insert then skips
        # building and tracking a thousand instances per batch.
        rows = [
            {
                "id": user_id,
                "email": fake.email,
                "password_hash": password_hash,
                "full_name": fake.full_name,
                "role": fake.role,
                "created_at": created_at,
                "updated_at": created_at,
            }
            for user_id, fake in new
        ]
        await session.exec(insert(User), params=rows)
        for user_id, fake in new:
            event = UserCreated(
                user_id=user_id,
                email=fake.email,
                full_name=fake.full_name,
                role=fake.role,
            )
            stage(session, event)
    return len(new)


async def insert_fake_users(
    runtime: ServiceRuntime, settings: UsersSettings, count: int, report: SeedReport
) -> None:
    # Limitation: two seeders inserting the same new users at the same moment
    # collide on the unique email; the loser's batch fails and a re-run
    # completes it.
    password_hash = await hash_password(settings.seed_password)
    with tqdm(total=count, desc="users", unit="user", file=sys.stderr) as bar:
        for batch in batches(fake_users(count), BATCH_SIZE):
            created = await insert_batch(runtime, batch, password_hash)
            report.created += created
            report.skipped += len(batch) - created
            bar.update(len(batch))


async def unpublished(runtime: ServiceRuntime) -> int:
    async with runtime.sessions() as session:
        query = select(func.count()).where(col(OutboxMessage.published_at).is_(None))
        return (await session.exec(query)).one()


async def publish_outbox(runtime: ServiceRuntime, report: SeedReport) -> None:
    """Relay the outbox until every row is published, or nothing moves for a while.

    Rows another relay holds (a running users service) are skipped by this
    one and counted once that relay marks them. Rows that keep failing wait
    in the outbox for the service's relay.
    """
    relay = runtime.relay
    assert relay is not None
    await runtime.publisher.connect()
    await runtime.broker.connect()
    await declare_topology(runtime.broker)

    left = total = await unpublished(runtime)
    deadline = time.monotonic() + PUBLISH_PATIENCE
    with tqdm(total=total, desc="events", unit="event", file=sys.stderr) as bar:
        while left and time.monotonic() < deadline:
            if not await relay.relay_once():
                await asyncio.sleep(0.1)  # held by another relay, or backing off
            now_left = await unpublished(runtime)
            if now_left < left:
                bar.update(left - now_left)
                deadline = time.monotonic() + PUBLISH_PATIENCE
            left = now_left
    report.pending = left
    report.published = total - left


async def seed(settings: UsersSettings, count: int) -> SeedReport:
    """Prepare the database, add the admin and ``count`` fake users, publish."""
    await prepare_database(settings)
    report = SeedReport()
    runtime = ServiceRuntime(settings, service="users-seed")
    try:
        report.admin_created = await ensure_admin(runtime, settings)
        await insert_fake_users(runtime, settings, count, report)
        try:
            await publish_outbox(runtime, report)
        except OSError as exc:  # RabbitMQ unreachable: the rows wait, committed
            report.pending = await unpublished(runtime)
            log.warning(
                "seed.publish_deferred", pending=report.pending, error=repr(exc)
            )
    finally:
        await runtime.stop()
    return report


def summary(report: SeedReport, settings: UsersSettings) -> str:
    admin = "created" if report.admin_created else "already there"
    lines = [
        f"admin {normalise_email(settings.admin_email)}: {admin} "
        "(password from USERS_ADMIN_PASSWORD)",
        f"fake users: {report.created} created, {report.skipped} already there "
        "(password from USERS_SEED_PASSWORD)",
        f"user.created events: {report.published} published, "
        f"{report.pending} waiting in the outbox",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m contexts.users.seed",
        description="Create the users database if needed, an admin, and fake users.",
    )
    parser.add_argument(
        "--count", type=int, default=50, help="fake users to ensure (default 50)"
    )
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be 0 or more")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = UsersSettings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.environment == "production" and args.count > 0:
        print("fake users are refused in production; use --count 0", file=sys.stderr)
        return 2

    report = asyncio.run(seed(settings, args.count))
    print(summary(report, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
