"""TcpProxy loses a reply after the server executed the command, so a retry runs it twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.restartable_redis import RestartableRedis
from tests.support.tcp_proxy import TcpProxy

ProxyFactory = Callable[[str, int], TcpProxy]


def client_through(proxy: TcpProxy, retries: int) -> redis.Redis:
    """redis-py 6+ retries connection errors 3 times by default: make the count explicit."""
    client = redis.Redis.from_url(proxy.url_for(), retry=Retry(NoBackoff(), retries), socket_timeout=2)
    assert client.ping()  # the connection handshake is done before a drop is armed
    return client


def test_a_dropped_reply_raises_although_the_server_executed_the_command(
    restartable_redis: RestartableRedis, tcp_proxy_factory: ProxyFactory
) -> None:
    proxy = tcp_proxy_factory("127.0.0.1", restartable_redis.port)
    client = client_through(proxy, retries=0)

    proxy.drop_after_next_reply()
    with pytest.raises(redis.ConnectionError):
        client.incr("counter")

    assert proxy.replies_dropped == 1
    assert redis.Redis.from_url(restartable_redis.url).get("counter") == b"1"
    assert client.incr("counter") == 2  # one shot: a new connection goes through
    client.close()


def test_a_client_that_retries_after_a_dropped_reply_runs_the_command_twice(
    restartable_redis: RestartableRedis, tcp_proxy_factory: ProxyFactory
) -> None:
    proxy = tcp_proxy_factory("127.0.0.1", restartable_redis.port)
    client = client_through(proxy, retries=1)

    proxy.drop_after_next_reply()

    assert client.incr("counter") == 2
    assert proxy.replies_dropped == 1
    client.close()


def test_cut_all_breaks_a_command_in_flight_and_stop_refuses_new_connections(
    restartable_redis: RestartableRedis, tcp_proxy_factory: ProxyFactory, wait_until: Callable[..., None]
) -> None:
    proxy = tcp_proxy_factory("127.0.0.1", restartable_redis.port)
    client = client_through(proxy, retries=0)
    server = redis.Redis.from_url(restartable_redis.url)
    outcome: list[BaseException] = []

    def blocked_pop() -> None:
        try:
            client.blpop(["never-filled"], timeout=5)
        except redis.RedisError as error:
            outcome.append(error)

    popper = threading.Thread(target=blocked_pop)
    popper.start()
    wait_until(lambda: server.info("clients")["blocked_clients"] == 1, timeout=2, what="BLPOP in flight")
    proxy.cut_all()
    popper.join(2)

    assert [type(error) for error in outcome] == [redis.ConnectionError]
    wait_until(lambda: proxy.open_connections == 0, timeout=2, what="the cut connection closed")
    assert client.ping()  # the proxy still accepts: redis-py reconnects

    proxy.stop()
    assert proxy.open_connections == 0
    with pytest.raises(redis.ConnectionError):
        client.ping()
    client.close()
    server.close()
