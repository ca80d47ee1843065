"""`make services` / `make stop`: start or stop the embedded servers under the data dir."""

from __future__ import annotations

import sys

from zapq.embedded.postgres_server import ensure_postgres
from zapq.embedded.redis_server import ensure_redis
from zapq.settings import get_settings


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    settings = get_settings()
    if command not in ("start", "stop"):
        print("usage: python -m zapq.services start|stop", file=sys.stderr)
        return 2
    redis_server = ensure_redis(settings.data_dir / "redis")
    postgres = ensure_postgres(settings.data_dir / "postgres")
    if command == "stop":
        redis_server.stop()
        postgres.stop()
        print("embedded redis and postgresql stopped")
    else:
        print(f"REDIS_URL={redis_server.url}\nDATABASE_URL={postgres.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
