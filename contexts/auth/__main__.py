"""``python -m contexts.auth``: serve the auth context (REST and bus handlers)."""

from bus.wiring import configure_process_logging, serve
from contexts.auth.app import create_app
from contexts.auth.keys import KeyConfigError
from contexts.auth.settings import AuthSettings


def main() -> None:
    """Run until SIGTERM or SIGINT, then let the message in hand finish."""
    settings = AuthSettings()
    configure_process_logging(settings)
    try:
        api = create_app(settings)
    except KeyConfigError as exc:
        raise SystemExit(f"auth cannot start: {exc}") from None
    serve(api, settings)


if __name__ == "__main__":
    main()
