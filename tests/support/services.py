"""Where the integration and end-to-end tests find RabbitMQ, MariaDB and PostgreSQL.

In order of preference:

1. ``STREAMFLOW_TEST_AMQP_URL``, ``STREAMFLOW_TEST_MARIADB_URL`` and
   ``STREAMFLOW_TEST_POSTGRES_URL`` (server URLs without a database name),
   as ``.ci/run`` sets them for the services of the machine;
2. when none of them is set and a Docker engine answers, containers started
   with testcontainers for the session;
3. otherwise the local services on their default ports.

Each suite gets a RabbitMQ virtual host and databases of its own
(``Services.isolated``), named ``<STREAMFLOW_TEST_DB_PREFIX>_<suite>`` and
``<STREAMFLOW_TEST_DB_PREFIX>_<suite>_<context>`` (default prefix ``sf_test``),
created and migrated by the fixtures: a suite's running processes must never
answer another suite's commands, take its events or relay its outbox.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import make_url

LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
LOCAL_MARIADB = "mysql+aiomysql://root@127.0.0.1:3306/"
LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/"

# configure, write and read permissions on every resource of a virtual host
ALL = (".*", ".*", ".*")

ENV_AMQP = "STREAMFLOW_TEST_AMQP_URL"
ENV_MARIADB = "STREAMFLOW_TEST_MARIADB_URL"
ENV_POSTGRES = "STREAMFLOW_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class Services:
    amqp_url: str
    mariadb_url: str
    postgres_url: str
    # How to stop and start RabbitMQ's application for outage tests.
    rabbitmq_control: tuple[str, ...]
    # The suite these services are isolated for ("" before ``isolated``).
    suite: str = ""

    def isolated(self, suite: str) -> "Services":
        """These services with a RabbitMQ virtual host of ``suite``'s own.

        The virtual host ``<prefix>_<suite>`` is created with rabbitmqctl
        (idempotent) and the URL's user is given every permission on it.
        """
        parts = urlsplit(self.amqp_url)
        vhost = f"{db_prefix()}_{suite}"
        user = parts.username or "guest"
        add = subprocess.run(
            [*self.rabbitmq_control, "add_vhost", vhost],
            capture_output=True,
            text=True,
            check=False,
        )
        if add.returncode != 0 and "already_exists" not in add.stderr + add.stdout:
            raise RuntimeError(f"cannot create vhost {vhost}: {add.stderr}")
        subprocess.run(
            [*self.rabbitmq_control, "set_permissions", "-p", vhost, user, *ALL],
            capture_output=True,
            check=True,
        )
        isolated_url = urlunsplit((parts.scheme, parts.netloc, f"/{vhost}", "", ""))
        return replace(self, amqp_url=isolated_url, suite=suite)

    def database(self, context: str) -> str:
        """The name of ``context``'s test database in this suite.

        Suites never share a database: a process one suite leaves running
        (its outbox relay, say) must not act on another suite's rows.
        """
        return "_".join(part for part in (db_prefix(), self.suite, context) if part)

    def database_url(self, dialect: str, name: str) -> str:
        server = self.mariadb_url if dialect == "mariadb" else self.postgres_url
        return make_url(server).set(database=name).render_as_string(hide_password=False)


def db_prefix() -> str:
    return os.environ.get("STREAMFLOW_TEST_DB_PREFIX", "sf_test")


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception:
        return False
    return True


@contextmanager
def _containers() -> Iterator[Services]:
    from testcontainers.mysql import MySqlContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    with ExitStack() as stack:
        rabbit = stack.enter_context(RabbitMqContainer("rabbitmq:3.13-management"))
        maria = stack.enter_context(
            MySqlContainer("mariadb:10.11", username="root", password="root")
        )
        postgres = stack.enter_context(
            PostgresContainer("postgres:15", username="postgres", password="postgres")
        )
        rabbit_host = rabbit.get_container_host_ip()
        yield Services(
            amqp_url=(
                f"amqp://guest:guest@{rabbit_host}:{rabbit.get_exposed_port(5672)}/"
            ),
            mariadb_url=(
                f"mysql+aiomysql://root:root@{maria.get_container_host_ip()}:"
                f"{maria.get_exposed_port(3306)}/"
            ),
            postgres_url=(
                f"postgresql+asyncpg://postgres:postgres@"
                f"{postgres.get_container_host_ip()}:"
                f"{postgres.get_exposed_port(5432)}/"
            ),
            rabbitmq_control=(
                "docker",
                "exec",
                rabbit.get_wrapped_container().id,
                "rabbitmqctl",
            ),
        )


@contextmanager
def resolve_services() -> Iterator[Services]:
    named = {key: os.environ.get(key) for key in (ENV_AMQP, ENV_MARIADB, ENV_POSTGRES)}
    if not any(named.values()) and _docker_answers():
        with _containers() as services:
            yield services
        return
    yield Services(
        amqp_url=named[ENV_AMQP] or LOCAL_AMQP,
        mariadb_url=named[ENV_MARIADB] or LOCAL_MARIADB,
        postgres_url=named[ENV_POSTGRES] or LOCAL_POSTGRES,
        rabbitmq_control=("rabbitmqctl",),
    )
