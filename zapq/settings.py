"""Typed settings, parsed once from the environment.

Every field maps to the upper-cased environment variable of the same name
(`web_port` <- `WEB_PORT`). The README's configuration table is checked
against `SETTINGS_DOCS` by a test, so a new field without documentation fails CI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import msgspec


class SettingsError(Exception):
    """A missing or malformed environment variable; its message is one line naming it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    redis_url: str = ""
    database_url: str = ""
    zapq_data_dir: str = "./var"
    duckdb_path: str = ""
    log_level: str = "INFO"
    log_repeat_limit: int = 20
    log_repeat_window_s: float = 60.0

    web_host: str = "127.0.0.1"
    web_port: int = 8000
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9191

    worker_processes: int = 2
    worker_threads: int = 8

    retry_max: int = 3
    retry_min_backoff_ms: int = 1000
    retry_max_backoff_ms: int = 300_000
    outage_retry_max_backoff_ms: int = 30_000
    redis_heartbeat_timeout_s: float = 60.0
    redis_maintenance_chance: int = 1000
    redis_namespace: str = "dramatiq"
    flow_lease_ms: int = 30_000
    idempotency_ttl_s: float = 86_400.0

    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_access_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_webhook_secret: str = ""
    whatsapp_skip_signature: bool = False
    whatsapp_max_messages_per_second: float = 80.0
    whatsapp_recipient_min_interval_ms: int = 1000
    whatsapp_stale_message_age_s: float = 86_400.0
    whatsapp_template_name: str = ""
    whatsapp_template_language: str = "pt_BR"

    debounce_window_seconds: float = 2.0
    debounce_max_wait_seconds: float = 10.0

    conversation_engine: str = "rules"
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str = ""
    openai_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 15.0

    handoff_webhook_url: str = ""
    handoff_webhook_secret: str = ""
    admin_api_token: str = ""

    web_max_body_bytes: int = 16_384
    web_body_timeout_s: float = 10.0
    whatsapp_max_body_bytes: int = 3_145_728
    generic_webhook_max_body_bytes: int = 65_536
    generic_webhook_secret: str = ""
    generic_webhook_token: str = ""
    generic_webhook_allow_unsigned: bool = False

    @property
    def data_dir(self) -> Path:
        return Path(self.zapq_data_dir).resolve()

    @property
    def analytics_path(self) -> Path:
        return Path(self.duckdb_path).resolve() if self.duckdb_path else self.data_dir / "analytics.duckdb"

    @property
    def prometheus_dir(self) -> Path:
        return self.data_dir / "prometheus"

    def require(self, *env_names: str) -> None:
        """Fail with one line per missing variable, for components that cannot run without them."""
        missing = [name for name in env_names if not getattr(self, name.lower())]
        if missing:
            raise SettingsError(f"missing required environment variable {', '.join(missing)}")


SETTINGS_DOCS: dict[str, str] = {
    "REDIS_URL": "Redis for broker and middleware state. Unset: an embedded redis-server under the data dir.",
    "DATABASE_URL": "PostgreSQL for operational state. Unset: an embedded PostgreSQL under the data dir.",
    "ZAPQ_DATA_DIR": "Where embedded servers, DuckDB and metrics files live.",
    "DUCKDB_PATH": "Analytics database file. Unset: `$ZAPQ_DATA_DIR/analytics.duckdb`.",
    "LOG_LEVEL": "Python logging level for every process.",
    "LOG_REPEAT_LIMIT": "Lines of one kind (logger, level, message template) a process writes per window;"
    " the rest are counted and reported in one line when the window ends.",
    "LOG_REPEAT_WINDOW_S": "That window, in seconds.",
    "WEB_HOST": "Address uvicorn binds.",
    "WEB_PORT": "Port uvicorn binds.",
    "METRICS_HOST": "Address of the worker's Prometheus exposition server.",
    "METRICS_PORT": "Port of the worker's Prometheus exposition server.",
    "WORKER_PROCESSES": "`make worker`/`make run`: dramatiq worker processes.",
    "WORKER_THREADS": "`make worker`/`make run`: threads per worker process.",
    "RETRY_MAX": "Default retries per message (exponential backoff with jitter).",
    "RETRY_MIN_BACKOFF_MS": "First retry delay; later ones double, with jitter.",
    "RETRY_MAX_BACKOFF_MS": "Cap on a retry delay.",
    "OUTAGE_RETRY_MAX_BACKOFF_MS": "Cap on the wait between attempts of a message whose dependency"
    " (PostgreSQL, Redis) is down; such attempts never spend RETRY_MAX.",
    "REDIS_HEARTBEAT_TIMEOUT_S": "How long a worker may be silent before its unacked messages are requeued.",
    "REDIS_MAINTENANCE_CHANCE": "Per million broker commands, how many run the requeue-dead-workers sweep.",
    "REDIS_NAMESPACE": "Prefix of the broker's Redis keys.",
    "FLOW_LEASE_MS": "Lease of a running idempotent run: renewed while it runs, ends when its worker dies.",
    "IDEMPOTENCY_TTL_S": "How long a finished idempotency key is remembered (actors may override).",
    "WHATSAPP_API_URL": "Graph API base URL.",
    "WHATSAPP_ACCESS_TOKEN": "Bearer token for the Cloud API. Required to send messages.",
    "WHATSAPP_PHONE_NUMBER_ID": "Business phone number id used when sending.",
    "WHATSAPP_VERIFY_TOKEN": "Token Meta echoes in the webhook verification handshake.",
    "WHATSAPP_WEBHOOK_SECRET": "App secret that signs `X-Hub-Signature-256` on WhatsApp webhooks.",
    "WHATSAPP_SKIP_SIGNATURE": "Development only: `1` lets the web app start without the app secret.",
    "WHATSAPP_MAX_MESSAGES_PER_SECOND": "Send pace of one business number, shared by all workers.",
    "WHATSAPP_RECIPIENT_MIN_INTERVAL_MS": "Minimum spacing between two messages to one customer.",
    "WHATSAPP_STALE_MESSAGE_AGE_S": "Older inbound messages are recorded but get no normal reply.",
    "WHATSAPP_TEMPLATE_NAME": "Template sent when a reply is outside the 24 h window (131047).",
    "WHATSAPP_TEMPLATE_LANGUAGE": "Language code of that template.",
    "DEBOUNCE_WINDOW_SECONDS": "Quiet period that closes a customer's burst before the bot answers.",
    "DEBOUNCE_MAX_WAIT_SECONDS": "Longest a burst is held, from its first message.",
    "CONVERSATION_ENGINE": "`rules` (offline, PT-BR) or `llm` (OpenAI-compatible, falls back to rules).",
    "OPENAI_BASE_URL": "Chat-completions API base URL of the `llm` engine.",
    "OPENAI_API_KEY": "API key of the `llm` engine. Required when `CONVERSATION_ENGINE=llm`.",
    "OPENAI_MODEL": "Model name sent to the chat-completions API.",
    "LLM_TIMEOUT_S": "Timeout of one LLM call; on timeout the rule-based engine answers.",
    "HANDOFF_WEBHOOK_URL": "Where `notify_human_handoff` POSTs the summary (the CRM). Unset: logged only.",
    "HANDOFF_WEBHOOK_SECRET": "HMAC-SHA256 key signing that POST (`X-Zapq-Signature-256`).",
    "ADMIN_API_TOKEN": "Bearer token of the admin API (`/api/...`). Unset: it answers 403.",
    "WEB_MAX_BODY_BYTES": "Largest request body the web reads on routes without their own limit (else 413).",
    "WEB_BODY_TIMEOUT_S": "Time a client has to send a whole request body (else 408, connection closed).",
    "WHATSAPP_MAX_BODY_BYTES": "Largest `POST /webhook/whatsapp` body (Meta sends up to 3 MB).",
    "GENERIC_WEBHOOK_MAX_BODY_BYTES": "Largest `POST /webhook` body.",
    "GENERIC_WEBHOOK_SECRET": "HMAC-SHA256 key of `POST /webhook`'s `X-Zapq-Signature-256` header.",
    "GENERIC_WEBHOOK_TOKEN": "Bearer token `POST /webhook` also accepts (`Authorization: Bearer ...`).",
    "GENERIC_WEBHOOK_ALLOW_UNSIGNED": "Development only: `1` lets the web app start with neither of those.",
}


def parse_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping; raise SettingsError naming a malformed variable."""
    known = {name: value for name, value in environ.items() if name in SETTINGS_DOCS}
    try:
        return msgspec.convert(known, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise SettingsError(_name_the_variable(str(error), known)) from None


def _name_the_variable(message: str, known: Mapping[str, str]) -> str:
    # msgspec reports "... - at `$.WEB_PORT`"; turn that into "WEB_PORT=...: ..."
    reason, _, where = message.partition(" - at `$.")
    name = where.rstrip("`")
    if name:
        return f"invalid environment variable {name}={known.get(name, '')!r}: {reason}"
    return f"invalid settings: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return parse_settings(os.environ)
