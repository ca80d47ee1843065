"""A task's Server-Sent Events, read with a streaming HTTP client: state first, events, resume, end."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.web_server import WebServer
from tests.web.background.conftest import API, bearer, wait_for_status


def read_events(
    client: httpx.Client, task_id: str, headers: dict[str, str] | None = None, timeout: float = 20
) -> Iterator[dict[str, Any]]:
    """Each event as {"id", "event", "data"} (comments as {"comment"}), until the server closes."""
    with client.stream("GET", f"/tasks/{task_id}/stream", headers=headers, timeout=timeout) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        event: dict[str, Any] = {}
        for line in response.iter_lines():
            if line.startswith(":"):
                yield {"comment": line[1:].strip()}
            elif line == "":
                if "event" in event:
                    yield event
                event = {}
            else:
                name, _, value = line.partition(": ")
                event[name] = json.loads(value) if name == "data" else value


def test_a_stream_follows_a_task_from_submission_to_completion(api: httpx.Client, task_worker) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_sleeper", "payload": {"seconds": 1, "steps": 4}})
    task_id = task_id.json()["task_id"]
    events = list(read_events(api, task_id))

    assert events[0]["event"] == "state" and events[0]["data"]["id"] == task_id
    ids = [int(event["id"]) for event in events]
    assert ids == sorted(set(ids))
    statuses = [event["data"]["status"] for event in events[1:] if event["event"] == "status"]
    assert statuses[-2:] == ["running", "completed"]
    progress = [event["data"]["progress"] for event in events if event["event"] == "progress"]
    assert progress == [0.25, 0.5, 0.75, 1.0]
    assert [event["data"]["message"] for event in events if event["event"] == "log"] == [
        "sleeping 1.0 s in 4 steps"
    ]
    assert events[-1]["data"]["result"] == {"steps": 4}


def test_last_event_id_resumes_after_the_event_the_client_had(api: httpx.Client, task_worker) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_sleeper", "payload": {"seconds": 0.4, "steps": 4}})
    task_id = task_id.json()["task_id"]
    wait_for_status(api, task_id, "completed")
    whole = list(read_events(api, task_id, headers={"Last-Event-ID": "0"}))
    resumed = list(read_events(api, task_id, headers={"Last-Event-ID": whole[2]["id"]}))
    assert resumed == whole[3:]
    assert [event["id"] for event in whole] == [str(n) for n in range(1, len(whole) + 1)]
    assert resumed[-1]["event"] == "status" and resumed[-1]["data"]["status"] == "completed"


def test_a_client_that_connects_after_the_end_gets_the_final_state_and_the_stream_closes(
    api: httpx.Client, task_worker
) -> None:
    task_id = api.post("/tasks", json={"task_type": "test_noop"}).json()["task_id"]
    wait_for_status(api, task_id, "completed")
    [state] = list(read_events(api, task_id))
    assert (state["event"], state["data"]["status"], state["data"]["result"]["attempt"]) == (
        "state",
        "completed",
        1,
    )


def test_an_idle_stream_gets_heartbeats_and_a_cancel_ends_it(
    jwt_secret: str, monkeypatch: pytest.MonkeyPatch, start_web_server: Callable[[], WebServer]
) -> None:
    from zapq.settings import get_settings

    monkeypatch.setenv("BACKGROUND_STREAM_HEARTBEAT_S", "0.2")
    get_settings.cache_clear()
    server = start_web_server()
    with httpx.Client(base_url=server.url + API, headers=bearer()) as client:
        task_id = client.post("/tasks", json={"task_type": "test_noop"}).json()[
            "task_id"
        ]  # no worker: pending
        seen: list[dict[str, Any]] = []
        for event in read_events(client, task_id):
            seen.append(event)
            if sum("comment" in item for item in seen) == 2:
                client.post(f"/tasks/{task_id}/cancel")
    assert seen[0]["data"]["status"] == "pending"
    assert seen[-1]["event"] == "status" and seen[-1]["data"]["status"] == "cancelled"
    assert {"comment": "heartbeat"} in seen
