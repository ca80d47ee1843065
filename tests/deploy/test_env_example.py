"""The operator's env file and systemd units agree with zapq's settings and with each other."""

from __future__ import annotations

import re
from pathlib import Path

from zapq.settings import SETTINGS_DOCS, parse_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV_EXAMPLE = DEPLOY / "zapq.env.example"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))

_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
_COMMENTED_ASSIGNMENT = re.compile(r"^#\s*([A-Z][A-Z0-9_]*)=")
# systemd substitutes ${NAME} and $NAME on Exec lines; $$ is a literal dollar for the shell.
_SUBSTITUTION = re.compile(r"(?<!\$)\$(?:\{([A-Z][A-Z0-9_]*)\}|([A-Z][A-Z0-9_]*))")


def env_example_values() -> dict[str, str]:
    """The active NAME=value lines, unquoted as systemd's EnvironmentFile= reads them."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if match:
            name, value = match.groups()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[name] = value
    return values


def env_example_commented_names() -> set[str]:
    return {
        m.group(1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if (m := _COMMENTED_ASSIGNMENT.match(line))
    }


def unit_directives(unit: Path) -> list[tuple[str, str]]:
    """(key, value) pairs of a unit file, with backslash-continued lines joined."""
    text = re.sub(r"\\\n\s*", " ", unit.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, _, value = line.partition("=")
            pairs.append((key, value))
    return pairs


def command_line_variables(unit: Path) -> set[str]:
    names = set()
    for key, value in unit_directives(unit):
        if key.startswith("Exec"):
            names |= {braced or bare for braced, bare in _SUBSTITUTION.findall(value)}
    return names


def unit_defaults(unit: Path) -> set[str]:
    return {value.partition("=")[0] for key, value in unit_directives(unit) if key == "Environment"}


def test_every_variable_in_the_env_example_is_a_zapq_setting_or_read_by_a_unit() -> None:
    read_by_units = set().union(*(command_line_variables(unit) for unit in UNITS))

    unknown = set(env_example_values()) - set(SETTINGS_DOCS) - read_by_units

    assert not unknown, f"deploy/zapq.env.example sets variables nothing reads: {sorted(unknown)}"


def test_every_zapq_setting_appears_in_the_env_example() -> None:
    listed = set(env_example_values()) | env_example_commented_names()

    missing = set(SETTINGS_DOCS) - listed

    assert not missing, f"add these settings to deploy/zapq.env.example: {sorted(missing)}"


def test_the_env_example_parses_into_production_settings() -> None:
    settings = parse_settings(env_example_values())

    assert settings.redis_url.startswith("redis://") and settings.database_url.startswith("postgresql://")
    assert settings.whatsapp_skip_signature is False
    assert str(settings.data_dir) == "/var/lib/zapq"
    assert settings.analytics_path.is_relative_to(settings.data_dir)


def test_every_variable_on_a_unit_command_line_has_a_default_in_that_unit() -> None:
    # Without a default, a variable missing from the env file becomes an empty argument.
    undefaulted = {unit.name: sorted(command_line_variables(unit) - unit_defaults(unit)) for unit in UNITS}

    assert len(UNITS) == 4
    assert all(not names for names in undefaulted.values()), undefaulted


def test_units_write_only_where_zapq_keeps_its_data() -> None:
    for unit in UNITS:
        directives = dict(unit_directives(unit))
        data_dir = next(
            value.partition("=")[2] for key, value in unit_directives(unit)
            if key == "Environment" and value.startswith("ZAPQ_DATA_DIR=")
        )  # fmt: skip

        assert directives["ProtectSystem"] == "strict"
        assert directives["ReadWritePaths"] == data_dir == env_example_values()["ZAPQ_DATA_DIR"]
