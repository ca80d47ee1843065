"""The container HEALTHCHECK tells each role from its main process and asks what that role needs."""

from __future__ import annotations

import socket

import pytest

from tests.support.http_peer import CannedResponse, HttpPeer
from zapq import healthcheck
from zapq.healthcheck import Role, role_of
from zapq.settings import Settings, get_settings, parse_settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_with(**environment: str) -> Settings:
    return parse_settings(environment)


def port_of(peer: HttpPeer) -> str:
    return peer.url.rsplit(":", 1)[1]


@pytest.mark.parametrize(
    ("main_process", "role"),
    [
        # What /proc/1/cmdline holds once the entrypoint has exec'd a console script (its shebang's python).
        (["/opt/zapq/venv/bin/python", "/opt/zapq/venv/bin/uvicorn", "web.app:create_app"], Role.WEB),
        (["/opt/zapq/venv/bin/python", "/opt/zapq/venv/bin/dramatiq", "actors:boot"], Role.WORKER),
        (["/opt/zapq/venv/bin/python", "/opt/zapq/venv/bin/periodiq", "actors:boot"], Role.SCHEDULER),
        (["python", "-m", "web"], Role.WEB),
        # Under `init: true`, PID 1 is the init, still showing the entrypoint and its role.
        (["/sbin/docker-init", "--", "zapq-entrypoint", "worker-priority"], Role.WORKER),
        (["/sbin/docker-init", "--", "/usr/local/bin/zapq-entrypoint", "scheduler"], Role.SCHEDULER),
    ],
)
def test_the_role_is_read_from_the_main_process_command_line(main_process: list[str], role: Role) -> None:
    assert role_of(main_process) is role


def test_a_main_process_that_runs_no_zapq_role_has_none() -> None:
    assert role_of(["/lib/systemd/systemd", "--system"]) is None
    assert role_of(["zapq-entrypoint", "migrate"]) is None
    assert role_of([]) is None


def test_the_web_is_healthy_only_while_health_ready_answers_200(http_peer: HttpPeer) -> None:
    settings = settings_with(WEB_HOST="0.0.0.0", WEB_PORT=port_of(http_peer))
    http_peer.enqueue(CannedResponse(200, {"status": "ok"}))

    healthcheck.check(Role.WEB, settings)

    http_peer.enqueue(CannedResponse(503, {"status": "unavailable", "failed": ["redis"]}))
    with pytest.raises(healthcheck.Unhealthy, match=r"/health/ready answered 503: .*redis"):
        healthcheck.check(Role.WEB, settings)
    assert [request.path for request in http_peer.received()] == ["/health/ready", "/health/ready"]


def test_a_web_that_does_not_listen_is_unhealthy() -> None:
    settings = settings_with(WEB_HOST="127.0.0.1", WEB_PORT=str(free_port()))

    with pytest.raises(healthcheck.Unhealthy, match=r"does not answer: .*refused"):
        healthcheck.check(Role.WEB, settings)


def test_a_worker_is_healthy_when_its_metrics_endpoint_and_redis_answer(settings, http_peer) -> None:  # type: ignore[no-untyped-def]
    worker = settings_with(
        REDIS_URL=settings.redis_url, METRICS_HOST="0.0.0.0", METRICS_PORT=port_of(http_peer)
    )

    healthcheck.check(Role.WORKER, worker)

    assert [request.path for request in http_peer.received()] == ["/metrics"]


def test_a_worker_whose_metrics_endpoint_is_gone_is_unhealthy(settings) -> None:  # type: ignore[no-untyped-def]
    worker = settings_with(REDIS_URL=settings.redis_url, METRICS_PORT=str(free_port()))

    with pytest.raises(healthcheck.Unhealthy, match="/metrics does not answer"):
        healthcheck.check(Role.WORKER, worker)


def test_a_worker_without_a_metrics_port_is_asked_about_redis_alone(settings) -> None:  # type: ignore[no-untyped-def]
    healthcheck.check(Role.WORKER, settings_with(REDIS_URL=settings.redis_url, METRICS_PORT="0"))


def test_a_scheduler_that_cannot_reach_redis_is_unhealthy_and_the_password_stays_hidden() -> None:
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"

    with pytest.raises(healthcheck.Unhealthy) as raised:
        healthcheck.check(Role.SCHEDULER, settings_with(REDIS_URL=url))

    assert "REDIS_URL=redis://:***@127.0.0.1" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_the_command_exits_1_with_one_line_when_unhealthy_and_0_when_healthy(
    settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    get_settings.cache_clear()
    assert healthcheck.main(["healthcheck", "scheduler"]) == 0

    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    assert healthcheck.main(["healthcheck", "scheduler"]) == 1

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zapq scheduler unhealthy: REDIS_URL=")


def test_the_command_refuses_an_unknown_role_and_a_main_process_it_cannot_place(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"/lib/systemd/systemd\0--system\0")
    monkeypatch.setattr(healthcheck, "MAIN_PROCESS_CMDLINE", cmdline)

    assert healthcheck.main(["healthcheck", "beat"]) == 2
    assert healthcheck.main(["healthcheck"]) == 2
    assert "name the role" in capsys.readouterr().err
