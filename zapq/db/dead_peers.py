"""Connection parameters that let each end of a PostgreSQL connection notice the other vanished.

A zapq process killed on a host that is still on the network closes its sockets, and PostgreSQL
ends its sessions at once. A host whose network is cut, or that loses power, sends nothing: its
sessions stay open for the kernel's default keepalive time (two hours and more), and with them
the session advisory locks they hold (`conversation_lock`). The burst redelivered to a live worker
then waits on that lock as long. Server-side keepalives and user timeout, set per session through
`options` (ordinary users may set them), end such a session within `DATABASE_DEAD_PEER_S`; the
same on the client side lets a worker notice a vanished PostgreSQL instead of waiting on a reply.
Both are ignored on Unix-domain sockets, where no peer can vanish this way.
"""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

KEEPALIVE_PROBES = 4


def with_dead_peer_detection(database_url: str, dead_peer_s: int, options: str = "") -> dict[str, str | int]:
    """Keyword arguments for `psycopg.connect(database_url, ...)` or a pool's `kwargs`.

    `options` (say a statement timeout) and any the URL carries are kept, before the keepalives:
    a keyword `options` would otherwise replace the URL's.
    """
    own = str(conninfo_to_dict(database_url).get("options") or "")
    return dead_peer_parameters(dead_peer_s, f"{own} {options}".strip())


def dead_peer_parameters(dead_peer_s: int, options: str = "") -> dict[str, str | int]:
    """libpq keyword parameters: client keepalives and `options` with the server's, after `options`.

    Four probes an eighth of the budget apart after the rest of it idle: a silent peer is given up
    on within `dead_peer_s` (5 s at least); so is one that stops acknowledging what was sent
    (`tcp_user_timeout`).
    """
    interval = max(1, dead_peer_s // (2 * KEEPALIVE_PROBES))
    idle = max(1, dead_peer_s - interval * KEEPALIVE_PROBES)
    user_timeout_ms = dead_peer_s * 1000
    server = (
        f"-c tcp_keepalives_idle={idle} -c tcp_keepalives_interval={interval}"
        f" -c tcp_keepalives_count={KEEPALIVE_PROBES} -c tcp_user_timeout={user_timeout_ms}"
    )
    return {
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": interval,
        "keepalives_count": KEEPALIVE_PROBES,
        "tcp_user_timeout": user_timeout_ms,
        "options": f"{options} {server}".strip(),
    }
