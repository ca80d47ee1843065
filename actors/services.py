"""The long-lived clients actors share within a worker process, built from settings on first use.

Cached per settings value, so a process whose settings change (a test pointing the
Graph API at its own server) gets new clients instead of stale ones. Built under one lock:
`lru_cache` alone lets worker threads that arrive together each build (and leak) a client.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import psycopg
import redis

from zapq.conversation.burst import BurstServices
from zapq.conversation.dealership import dealership_from_settings
from zapq.conversation.engine import ConversationEngine
from zapq.conversation.factory import build_engine
from zapq.conversation.inventory import PostgresInventory
from zapq.db.connection import thread_connection
from zapq.embeddings.providers import build_provider
from zapq.embeddings.search import SemanticSearch
from zapq.reengagement.matching import CriteriaMatcher, InterestMatcher
from zapq.reengagement.rules import Policy
from zapq.reengagement.scan import load_known_models
from zapq.reengagement.semantic_matching import SemanticMatcher
from zapq.reengagement.sending import CampaignServices
from zapq.settings import Settings
from zapq.whatsapp.client import WhatsAppClient
from zapq.whatsapp.pacing import Pacer

T = TypeVar("T")

logger = logging.getLogger(__name__)


_building = threading.RLock()


def _built_once(builder: Callable[..., T]) -> Callable[..., T]:
    cached = functools.lru_cache(maxsize=64)(builder)

    @functools.wraps(builder)
    def build(*args: Any) -> T:
        with _building:
            return cached(*args)

    return build


@_built_once
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@_built_once
def http_client(timeout_s: float) -> httpx.Client:
    """One connection pool per process for the Graph API, the LLM and the CRM."""
    return httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_connections=64))


@_built_once
def whatsapp_client(api_url: str, access_token: str, phone_number_id: str) -> WhatsAppClient:
    return WhatsAppClient(api_url, access_token, phone_number_id, http=http_client(10.0))


@_built_once
def conversation_engine(settings: Settings) -> ConversationEngine:
    return build_engine(
        settings.conversation_engine,
        inventory=PostgresInventory(thread_connection),
        dealership=dealership_from_settings(settings),
        semantic=semantic_search(settings),
        openai_base_url=settings.openai_base_url,
        openai_api_key=settings.openai_api_key,
        openai_model=settings.openai_model,
        llm_timeout_s=settings.llm_timeout_s,
        http=http_client(settings.llm_timeout_s),
    )


@_built_once
def semantic_search(settings: Settings) -> SemanticSearch:
    """Semantic search over this process's connection, its vectors loaded once per process.

    For the rules engine's vague requests: `semantic_search(settings).hybrid_vehicles(text, limit)`.
    The local model's weights are memory-mapped: building this takes milliseconds.
    """
    return SemanticSearch(build_provider(settings), thread_connection)


@_built_once
def pacer(redis_namespace: str, max_messages_per_second: float, recipient_min_interval_ms: int) -> Pacer:
    return Pacer(
        max_messages_per_second=max_messages_per_second,
        recipient_min_interval_ms=recipient_min_interval_ms,
        namespace=redis_namespace,
    )


def burst_services(
    settings: Settings, on_turn: Any, on_handoff: Any, *, after_outage: bool = False
) -> BurstServices:
    settings.require("WHATSAPP_ACCESS_TOKEN")
    return BurstServices(
        connection=thread_connection(),
        redis=redis_client(settings.redis_url),
        client_for=lambda phone_number_id: whatsapp_client(
            settings.graph_api_url, settings.whatsapp_access_token, phone_number_id
        ),
        engine=conversation_engine(settings),
        engine_name=settings.conversation_engine,
        pacer=pacer(
            settings.redis_namespace,
            settings.whatsapp_max_messages_per_second,
            settings.whatsapp_recipient_min_interval_ms,
        ),
        stale_after=timedelta(seconds=settings.whatsapp_stale_message_age_s),
        template_name=settings.whatsapp_template_name,
        template_language=settings.whatsapp_template_language,
        on_turn=on_turn,
        on_handoff=on_handoff,
        after_outage=after_outage,
    )


@_built_once
def campaign_policy(settings: Settings) -> Policy:
    return Policy.from_settings(settings)


def campaign_services(settings: Settings, *, after_outage: bool = False) -> CampaignServices:
    settings.require("WHATSAPP_ACCESS_TOKEN")
    return CampaignServices(
        connection=thread_connection(),
        redis=redis_client(settings.redis_url),
        client_for=lambda phone_number_id: whatsapp_client(
            settings.whatsapp_api_url, settings.whatsapp_access_token, phone_number_id
        ),
        pacer=pacer(
            settings.redis_namespace,
            settings.whatsapp_max_messages_per_second,
            settings.whatsapp_recipient_min_interval_ms,
        ),
        policy=campaign_policy(settings),
        after_outage=after_outage,
    )


def campaign_matchers(settings: Settings, connection: psycopg.Connection) -> list[InterestMatcher]:
    """The `new_cars` matchers of one scan: by criteria and, when the embeddings provider builds, by meaning.

    The provider is built once per process (`build_provider`); a provider that fails mid-scan costs
    the semantic matcher the texts not embedded yet, never the scan (`SemanticMatcher`).
    """
    criteria = CriteriaMatcher(tuple(load_known_models(connection)))
    try:
        provider = build_provider(settings)
    except Exception as error:
        logger.warning("new cars matched by criteria only: the embeddings provider did not load: %s", error)
        return [criteria]
    return [criteria, SemanticMatcher(provider, connection)]
