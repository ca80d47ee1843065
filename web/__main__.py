"""`make web` / `python -m web`: uvicorn on WEB_HOST:WEB_PORT, alone as under `make run`.

Like `make run`, a local web without the webhooks' secrets makes them up under the data dir
(`zapq.dev_secrets`), so it starts on a fresh machine and signs with what `make run` uses. A
setting that cannot work (a port in use, a server that does not answer) is one line, and the
process exits 2 having stopped whatever it started.
"""

import contextlib
import sys

import uvicorn

from web.app import create_app
from zapq.dev_secrets import ensure_generic_webhook_secret, ensure_webhook_secret
from zapq.runtime import stop_started_services
from zapq.settings import SettingsError, get_settings
from zapq.startup_checks import check_port_free


def main() -> int:
    try:
        settings = get_settings()
        check_port_free("WEB_PORT", "WEB_HOST", settings.web_host, settings.web_port)
        ensure_webhook_secret()
        ensure_generic_webhook_secret()
        app = create_app()
    except SettingsError as error:
        stop_started_services()
        print(f"zapq: {error}", file=sys.stderr)
        return 2
    settings = get_settings()
    # log_config=None: create_app configured logging (zapq.logging_setup), and web.access_log
    # writes the access lines. uvicorn raises again the Ctrl-C it stopped for; a stop asked for is no error.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_config=None, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
