"""`make web` / `python -m web`: uvicorn on WEB_HOST:WEB_PORT."""

import sys

import uvicorn

from web.app import create_app
from zapq.settings import SettingsError, get_settings

if __name__ == "__main__":
    try:
        app = create_app()
    except SettingsError as error:
        sys.exit(f"zapq: {error}")
    settings = get_settings()
    uvicorn.run(app, host=settings.web_host, port=settings.web_port)
