"""``python -m contexts.users``: serve the users context (REST and bus handlers)."""

from bus.wiring import configure_process_logging, serve
from contexts.users.app import create_app
from contexts.users.settings import UsersSettings


def main() -> None:
    """Run until SIGTERM or SIGINT, then let the message in hand finish."""
    settings = UsersSettings()
    configure_process_logging(settings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
