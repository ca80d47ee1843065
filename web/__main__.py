"""`make web` / `python -m web`: uvicorn on WEB_HOST:WEB_PORT."""

import sys

import uvicorn

import actors
from web.app import create_app
from zapq.settings import SettingsError

if __name__ == "__main__":
    try:
        app = create_app()
    except SettingsError as error:
        sys.exit(f"zapq: {error}")
    uvicorn.run(app, host=actors.settings.web_host, port=actors.settings.web_port)
