"""The committed AsyncAPI documents match the code, and describe everything."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "infra" / "scripts" / "asyncapi.py"
DOCUMENTS = sorted((ROOT / "asyncapi").glob("*.json"))


def _clean_env(tmp_path: Path) -> dict[str, str]:
    # Only what Python needs: no service URLs, no .env in the working dir.
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["PYTHONPATH"] = str(ROOT)
    env["AUTH_DEV_KEYS_DIR"] = str(tmp_path / "keys")
    return env


def test_committed_documents_match_the_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_context_has_a_document() -> None:
    names = {path.stem for path in DOCUMENTS}

    assert {"users", "auth"} <= names


def _undescribed(schema: dict[str, Any], where: str) -> list[str]:
    missing = []
    for name, prop in schema.get("properties", {}).items():
        if "description" not in prop and "$ref" not in prop:
            missing.append(f"{where}.{name}")
    return missing


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.stem)
def test_every_message_and_field_is_described(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    components = document["components"]

    undescribed_messages = [
        name
        for name, message in components["messages"].items()
        if not (message.get("description") or message.get("summary"))
        and "description"
        not in components["schemas"].get(
            message["payload"].get("$ref", "").rsplit("/", 1)[-1], {}
        )
    ]
    undescribed_fields = [
        field
        for name, schema in components["schemas"].items()
        for field in _undescribed(schema, name)
    ]

    assert undescribed_messages == []
    assert undescribed_fields == []
