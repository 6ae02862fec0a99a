"""``python -m gateway``: serve the public API with uvicorn.

On SIGTERM or SIGINT uvicorn stops accepting connections, lets requests in
flight finish (up to ``GATEWAY_GRACEFUL_TIMEOUT`` seconds), then the lifespan
closes the command client, the revocation feed and the HTTP pool.
"""

import uvicorn

from bus.logging import configure_logging
from gateway.app import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.log_level, settings.log_json)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        # The client's address is the connection's peer; X-Forwarded-For is
        # read only from trusted proxies (gateway.client_ip), never by uvicorn.
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=settings.graceful_timeout,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
