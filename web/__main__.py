"""`make web` / `python -m web`: uvicorn on WEB_HOST:WEB_PORT."""

import uvicorn

import actors
from web.app import create_app

if __name__ == "__main__":
    uvicorn.run(create_app(), host=actors.settings.web_host, port=actors.settings.web_port)
