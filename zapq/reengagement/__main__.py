"""`python -m zapq.reengagement inventory-changed`: tell the campaigns the stock changed.

Run it after anything that adds cars or changes prices (`make seed` does). It enqueues one
scan for new cars and price drops, keyed on the last `inventory_changes` row, so running it
twice for one state of the stock scans once. Without it, the hourly scan finds the same.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zapq.reengagement")
    parser.add_argument("command", choices=["inventory-changed"])
    parser.parse_args(argv)

    # The actors (and so the broker) are imported only here: importing this package boots nothing.
    import actors
    from actors.broker import bind_broker
    from actors.reengagement import request_inventory_scan
    from zapq.db.connection import connect
    from zapq.reengagement.scan import inventory_watermark
    from zapq.runtime import boot

    settings = boot()
    bind_broker(actors.broker, settings.redis_url)
    with connect(settings.database_url) as connection:
        watermark = inventory_watermark(connection)
    if request_inventory_scan(watermark):
        print(f"re-engagement: scan for new cars and price drops enqueued (stock at change {watermark})")
    else:
        print(f"re-engagement: the stock at change {watermark} was already scanned")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
