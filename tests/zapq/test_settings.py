from __future__ import annotations

import pytest

from zapq.settings import SETTINGS_DOCS, Settings, SettingsError, parse_settings


def test_defaults_apply_when_nothing_is_set():
    settings = parse_settings({})

    assert (settings.web_host, settings.web_port, settings.metrics_port) == ("127.0.0.1", 8000, 9191)
    assert settings.whatsapp_api_url == "" and settings.graph_api_url == "https://graph.facebook.com/v21.0"
    assert settings.demo_mode
    assert settings.redis_url == "" and settings.database_url == ""
    assert settings.analytics_path == settings.data_dir / "analytics.duckdb"


def test_values_are_converted_to_their_types():
    settings = parse_settings(
        {"WEB_PORT": "9000", "WHATSAPP_SKIP_SIGNATURE": "1", "REDIS_HEARTBEAT_TIMEOUT_S": "2.5"}
    )

    assert settings.web_port == 9000
    assert settings.whatsapp_skip_signature is True
    assert settings.redis_heartbeat_timeout_s == 2.5


def test_malformed_value_is_one_line_naming_the_variable():
    with pytest.raises(SettingsError) as raised:
        parse_settings({"WEB_PORT": "eighty"})

    message = str(raised.value)
    assert "WEB_PORT" in message and "eighty" in message
    assert "\n" not in message


def test_missing_required_variable_is_named():
    with pytest.raises(SettingsError, match="WHATSAPP_ACCESS_TOKEN"):
        parse_settings({}).require("WHATSAPP_ACCESS_TOKEN")


def test_every_setting_carries_a_description_on_its_field():
    undescribed = [name for name, description in SETTINGS_DOCS.items() if not description.strip()]

    assert not undescribed, f"give these fields a Meta(description=...): {undescribed}"
    assert set(SETTINGS_DOCS) == {field.upper() for field in Settings.__struct_fields__}


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD'"),
        ({"CONVERSATION_ENGINE": "gpt"}, "CONVERSATION_ENGINE='gpt'"),
        ({"CONVERSATION_ENGINE": "llm"}, "OPENAI_API_KEY"),
        ({"WORKER_PROCESSES": "0"}, "WORKER_PROCESSES"),
        ({"WORKER_THREADS": "-1"}, "WORKER_THREADS"),
        ({"WEB_PORT": "70000"}, "WEB_PORT"),
        ({"WHATSAPP_API_URL": "https://graph.facebook.com/v21.0"}, "WHATSAPP_ACCESS_TOKEN"),
    ],
)
def test_configuration_that_would_break_every_message_is_refused_at_start_in_one_line_naming_it(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        parse_settings(environ)
    message = str(refused.value)
    assert named in message and "\n" not in message


def test_a_lower_case_log_level_and_the_llm_engine_with_its_key_are_fine() -> None:
    settings = parse_settings({"LOG_LEVEL": "debug", "CONVERSATION_ENGINE": "llm", "OPENAI_API_KEY": "sk-1"})
    assert (settings.log_level, settings.conversation_engine) == ("debug", "llm")


def test_demo_mode_is_neither_a_token_nor_an_api_url_and_a_token_alone_replies_through_meta() -> None:
    assert parse_settings({}).demo_mode
    with_token = parse_settings({"WHATSAPP_ACCESS_TOKEN": "EAAG"})
    assert not with_token.demo_mode and with_token.graph_api_url == "https://graph.facebook.com/v21.0"
    elsewhere = parse_settings({"WHATSAPP_ACCESS_TOKEN": "EAAG", "WHATSAPP_API_URL": "http://127.0.0.1:9"})
    assert not elsewhere.demo_mode and elsewhere.graph_api_url == "http://127.0.0.1:9"
