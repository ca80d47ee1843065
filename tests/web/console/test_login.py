"""Signing in to the console: the admin token or a JWT with a console role, nothing else."""

from __future__ import annotations

import httpx

from tests.web.console.conftest import ADMIN_TOKEN, ConsolePage, console_jwt


def test_a_wrong_token_is_refused_and_the_admin_token_opens_every_page(console: ConsolePage) -> None:
    console.open()
    console.page.fill("#login-token", "not-the-token")
    console.page.click("#login-submit")
    error = console.page.wait_for_selector("#login-error:not([hidden])")
    assert "refused" in error.inner_text()
    assert console.page.is_hidden("#app")
    console.screenshot("login")

    console.login(ADMIN_TOKEN)
    nav = console.page.locator("#nav a").all_inner_texts()
    assert nav == ["Queues", "Dead letters", "Flow control", "Tasks", "Conversations", "Analytics"]
    assert console.page.inner_text("#who") == "admin · admin"
    assert console.console_errors == []


def test_an_agent_sees_its_organisations_tasks_and_the_conversations_where_it_lands(
    console: ConsolePage,
) -> None:
    console.login(console_jwt("agent", user="ana"))
    assert console.page.locator("#nav a").all_inner_texts() == ["Tasks", "Conversations"]
    assert console.page.get_attribute("#page", "data-page") == "conversations"
    console.page.goto(console.server.url + "/console#/deadletters")
    console.page.wait_for_selector("#page[data-page='conversations']")


def test_signing_out_forgets_the_token(console: ConsolePage) -> None:
    console.login()
    console.page.click("#logout")
    console.page.wait_for_selector("#login:not([hidden])")
    console.page.reload()
    console.page.wait_for_selector("#login:not([hidden])")
    assert console.page.evaluate("sessionStorage.length") == 0


def test_the_api_refuses_missing_wrong_and_roleless_tokens(console_api: httpx.Client) -> None:
    url = "/api/console/session"
    assert console_api.get(url).json() == {"actor": "admin", "role": "admin", "organization_id": None}
    missing = console_api.get(url, headers={"Authorization": ""})
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    wrong = console_api.get(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    roleless = console_api.get(url, headers={"Authorization": f"Bearer {console_jwt(None)}"})
    assert roleless.status_code == 403 and "role" in roleless.json()["detail"]
    expired = console_api.get(url, headers={"Authorization": f"Bearer {console_jwt('admin', ttl_s=-60)}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    agent = {"Authorization": f"Bearer {console_jwt('agent', user='ana')}"}
    assert console_api.get(url, headers=agent).json() == {
        "actor": "ana", "role": "agent", "organization_id": "dealer-1"
    }  # fmt: skip
    forbidden = console_api.get("/api/console/actions", headers=agent)
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "forbidden"


def test_the_page_and_its_assets_come_from_this_server_only(console_api: httpx.Client) -> None:
    page = console_api.get("/console", headers={"Authorization": ""})
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")
    script = console_api.get("/console/static/console.js", headers={"Authorization": ""})
    assert script.status_code == 200 and "registerPage" in script.text
    assert console_api.get("/console/static/../app.py").status_code == 404
