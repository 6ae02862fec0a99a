"""Generate the AsyncAPI 3.0 document of every context into asyncapi/.

    uv run python infra/scripts/asyncapi.py          # write the documents
    uv run python infra/scripts/asyncapi.py --check  # exit 1 if one is stale

Each context's ``app.py`` exposes ``create_asyncapi_app()``: a FastStream app
over the same broker, subscribers and publishers the process runs, so the
documents describe the code as it is. Nothing connects to RabbitMQ.

The documents name the development server, so generate them without
``*_AMQP_URL`` overrides in the environment (the drift test runs this script
with a clean environment).
"""

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "asyncapi"


def contexts() -> dict[str, str]:
    """Context name -> module with ``create_asyncapi_app``, from the one
    registry of processes (``infra.scripts.stack.PROCESSES``)."""
    from infra.scripts.stack import built_processes

    return {
        process.name: f"{process.package}.app"
        for process in built_processes()
        if process.package.startswith("contexts.")
    }


def render(context: str) -> str:
    """The context's AsyncAPI document as stable, diff-friendly JSON."""
    module = importlib.import_module(contexts()[context])
    app = module.create_asyncapi_app()
    document: Any = app.schema.to_specification().to_jsonable()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def document_path(context: str) -> Path:
    return OUTPUT / f"{context}.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if a committed document is stale"
    )
    args = parser.parse_args(argv)

    stale = []
    for context in contexts():
        rendered = render(context)
        path = document_path(context)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == rendered:
            continue
        if args.check:
            stale.append(path.relative_to(ROOT))
        else:
            path.write_text(rendered, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")

    if stale:
        print("stale AsyncAPI documents (regenerate them):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
