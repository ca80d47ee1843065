"""`make web` / `python -m web`: uvicorn on WEB_HOST:WEB_PORT, alone as under `make run`.

Like `make run`, a local web without the webhooks' secrets makes them up under the data dir
(`zapq.dev_secrets`), so it starts on a fresh machine and signs with what `make run` uses.
"""

import sys

import uvicorn

from web.app import create_app
from zapq.dev_secrets import ensure_generic_webhook_secret, ensure_webhook_secret
from zapq.settings import SettingsError, get_settings

if __name__ == "__main__":
    try:
        ensure_webhook_secret()
        ensure_generic_webhook_secret()
        app = create_app()
    except SettingsError as error:
        sys.exit(f"zapq: {error}")
    settings = get_settings()
    # log_config=None: create_app configured logging (zapq.logging_setup), and web.access_log
    # writes the access lines.
    uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_config=None, access_log=False)
