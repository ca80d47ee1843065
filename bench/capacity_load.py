"""One sender process of the capacity benchmark: `python -m bench.capacity_load bursts|tasks COUNT TAG`.

Sends as fast as the broker takes them: COUNT bursts of 3 messages from distinct customers, or
COUNT tasks, through the real broker and its middleware (the enqueue path a web node runs).
"""

from __future__ import annotations

import sys


def main(kind: str, count: int, tag: str) -> None:
    from bench import capacity_actors

    capacity_actors.boot()
    for number in range(count):
        if kind == "bursts":
            customer = f"cap-{tag}-{number}"
            for part in range(3):
                capacity_actors.burst_sink.send({"wa_id": customer, "wamid": f"{customer}.{part}"})
        else:
            capacity_actors.task_sink.send({"task_id": f"cap-{tag}-{number}"})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
