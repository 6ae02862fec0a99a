"""The deploy files stay valid, checked offline.

docker-compose.yml against the Compose Specification schema, the GitHub
workflow against its schema and with actionlint, the Dockerfile with
hadolint, the shell scripts with shellcheck. Each linter is also shown a
broken copy, so one that accepts everything cannot make these tests pass.
The files' content is checked too: every process in the stack registry runs
in compose with a health check, and .env.example matches the settings.
"""

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from infra.scripts.stack import PROCESSES, Process, env_example, env_name

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
COMPOSE = ROOT / "docker-compose.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
SCRIPTS = ROOT / "infra" / "scripts"
LIB = SCRIPTS / "lib.sh"
SHELL_SCRIPTS = [*sorted(SCRIPTS.glob("*.sh")), ROOT / ".ci" / "run"]
# The ones run as programs; lib.sh is sourced by them.
ENTRY_POINTS = [path for path in SHELL_SCRIPTS if path.read_text().startswith("#!")]


def tool(name: str, *arguments: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a linter installed in this virtual environment."""
    return subprocess.run(
        [str(BIN / name), *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE)
    return document


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", path)


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    return tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", path)


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    return tool("actionlint", "-no-color", path)


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    # The repository's own rules only: no user or system configuration.
    return tool("hadolint", "--no-color", "--config", "/dev/null", path)


@dataclass(frozen=True)
class Check:
    """A linter over one deploy file, and a way to break a copy of that file."""

    name: str
    run: Callable[[Path], subprocess.CompletedProcess[str]]
    path: Path
    old: str
    new: str
    # What the linter's report names when it rejects the broken copy.
    reported: str

    def broken_copy(self, directory: Path) -> Path:
        text = self.path.read_text()
        assert self.old in text, f"{self.name}: nothing to break"
        copy = directory / self.path.name
        copy.write_text(text.replace(self.old, self.new, 1))
        return copy


CHECKS = [
    Check(
        "compose-spec",
        check_compose,
        COMPOSE,
        old="  users:\n",
        new="  users:\n    helthcheck: {}\n",
        reported="helthcheck",
    ),
    Check(
        "workflow-schema",
        check_workflow,
        WORKFLOW,
        old="runs-on:",
        new="runs_on:",
        reported="runs_on",
    ),
    Check(
        "actionlint",
        actionlint,
        WORKFLOW,
        old="job.services.rabbitmq.id",
        new="job.servics.id",
        reported="servics",
    ),
    Check(
        "hadolint",
        hadolint,
        DOCKERFILE,
        old="WORKDIR /app\n",
        new="WORKDIR /app\nRUN pip install requests\n",
        reported="DL3013",
    ),
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.name)
def test_deploy_file_passes_its_linter(check: Check) -> None:
    result = check.run(check.path)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.name)
def test_linter_rejects_a_broken_copy(check: Check, tmp_path: Path) -> None:
    result = check.run(check.broken_copy(tmp_path))

    assert result.returncode != 0
    assert check.reported in result.stdout + result.stderr


# ----------------------------------------------------------- docker-compose


def test_compose_runs_every_process_on_streamflow_net_with_a_healthz_check() -> None:
    services = compose()["services"]

    for process in PROCESSES:
        service = services[process.name]
        assert service["command"] == ["python", "-m", process.package]
        assert service["networks"] == ["streamflow_net"]
        probe = " ".join(service["healthcheck"]["test"])
        port = process.settings_type().model_fields["http_port"].default
        assert f"http://127.0.0.1:{port}/healthz" in probe
        assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
        assert service["depends_on"], process.name
        assert all("condition" in each for each in service["depends_on"].values())
    assert "streamflow_net" in compose()["networks"]


def test_compose_migrates_before_any_process_with_a_database_starts() -> None:
    services = compose()["services"]

    assert services["migrate"]["command"] == [
        "python",
        "-m",
        "infra.scripts.stack",
        "migrate",
    ]
    for process in PROCESSES:
        if (process.directory / "alembic.ini").exists():
            condition = services[process.name]["depends_on"]["migrate"]["condition"]
            assert condition == "service_completed_successfully"


def test_compose_waits_for_healthy_infrastructure() -> None:
    services = compose()["services"]

    for name in ("rabbitmq", "mariadb", "postgres"):
        assert services[name]["healthcheck"]["test"], name
        condition = services["migrate"]["depends_on"][name]["condition"]
        assert condition == "service_healthy"
    assert services["rabbitmq"]["image"].endswith("-management")


def settings_variables(process: Process) -> set[str]:
    settings_type = process.settings_type()
    return {env_name(settings_type, name) for name in settings_type.model_fields}


def test_compose_sets_only_variables_the_settings_classes_read() -> None:
    known = set().union(*(settings_variables(p) for p in PROCESSES))

    for name, service in compose()["services"].items():
        if service.get("image") != "streamflow:dev":
            continue
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name} sets variables no process reads: {unknown}"


def test_every_compose_variable_is_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text()))
    documented = set(
        re.findall(r"^#? ?(\w+)=", (ROOT / ".env.example").read_text(), re.M)
    )

    assert used
    assert used <= documented, used - documented


# ------------------------------------------------------------- .env.example


def test_env_example_is_generated_from_the_current_settings_classes() -> None:
    current = (ROOT / ".env.example").read_text()

    assert current == env_example(), (
        ".env.example is stale: uv run python -m infra.scripts.stack env-example"
    )


def test_the_readme_names_every_variable_of_env_example() -> None:
    variables = re.findall(
        r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M
    )
    readme = (ROOT / "README.md").read_text()
    prefixes = tuple(env_name(process.settings_type(), "") for process in PROCESSES)

    def named(variable: str) -> bool:
        if f"`{variable}`" in readme:
            return True
        # Shared settings are listed once, without their process's prefix.
        return any(
            variable.startswith(prefix) and f"`{variable[len(prefix) :]}`" in readme
            for prefix in prefixes
        )

    assert variables
    assert [variable for variable in variables if not named(variable)] == []


# ----------------------------------------------------------------- workflow


def test_workflow_runs_ci_run_with_the_three_services() -> None:
    job = load_yaml(WORKFLOW)["jobs"]["test"]

    assert set(job["services"]) == {"rabbitmq", "mariadb", "postgres"}
    assert any(step.get("run") == "bash .ci/run" for step in job["steps"])
    assert job["timeout-minutes"] <= 30


# --------------------------------------------------------------- Dockerfile


def test_dockerfile_runs_as_an_unprivileged_user_from_the_frozen_lock() -> None:
    text = DOCKERFILE.read_text()

    assert text.count("FROM ") >= 2
    assert "uv sync --frozen --no-dev" in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user
    assert user[-1].split(":")[0] not in {"0", "root"}


def test_dockerfile_and_scripts_pin_the_same_uv() -> None:
    script_pin = re.search(r"^STREAMFLOW_UV_VERSION=(\S+)$", LIB.read_text(), re.M)
    image_pin = re.search(r"uv==(\S+)", DOCKERFILE.read_text())

    assert script_pin
    assert image_pin
    assert script_pin.group(1) == image_pin.group(1)


# ------------------------------------------------------------ shell scripts


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda path: path.name)
def test_shell_script_passes_shellcheck(script: Path) -> None:
    result = tool("shellcheck", "--external-sources", script)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", ENTRY_POINTS, ids=lambda path: path.name)
def test_shell_script_stops_on_the_first_error(script: Path) -> None:
    text = script.read_text()

    assert "set -euo pipefail" in text


def test_shellcheck_rejects_an_unquoted_expansion(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sh"
    broken.write_text("#!/usr/bin/env bash\nset -euo pipefail\nrm -rf $1/cache\n")

    result = tool("shellcheck", broken)

    assert result.returncode != 0
    assert "SC2086" in result.stdout
