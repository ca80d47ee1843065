"""`make chat` / `python -m zapq.chat`: type as a WhatsApp customer to the bot of a `make run` demo.

Each line becomes a webhook shaped and signed as Meta's (the dev secret `make run` uses), posted to
the running web; the bot's replies, buttons and lists are read back from the demo's Cloud API
stand-in and printed as they arrive. A number taps that choice of the last message that offered
some (a `button_reply` or `list_reply` with its id and title); `/foto [legenda]` sends a photo,
`/local` a location, `/sair`, Ctrl-D or Ctrl-C quit.

It needs `make run` in demo mode (no `WHATSAPP_ACCESS_TOKEN`, no `WHATSAPP_API_URL`): with real
credentials the replies go to WhatsApp, where a chat here could not show them.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import msgspec

from zapq.demo.outgoing import Outgoing, describe
from zapq.demo.running import LocalRun, find_local_run
from zapq.demo.webhooks import customer_message, signed_headers
from zapq.dev_secrets import ensure_webhook_secret
from zapq.settings import SettingsError, get_settings

DEFAULT_WA_ID = "5511987650000"
DEFAULT_NAME = "Cliente Demo"
WEB_WAIT_S = 60.0  # `make chat` typed right after `make run`: the web may still be starting
POLL_WAIT_S = 20.0
# Where `/local` says the customer is: a dealership-lined avenue in São Paulo.
LOCATION = {
    "latitude": -23.5614,
    "longitude": -46.6559,
    "name": "Avenida Paulista",
    "address": "Av. Paulista, 1578 - Bela Vista, São Paulo - SP",
}
HELP = (
    "Type as the customer and press Enter. A number taps that button or list row;"
    " /foto [legenda] sends a photo, /local your location; /sair (or Ctrl-D) quits."
)


class _Replies(msgspec.Struct):
    messages: list[Outgoing]


class NoDemo(Exception):
    """No demo to talk to; the message says why and what to do."""


class Chat:
    """One customer's side of a conversation with a running demo."""

    def __init__(
        self,
        demo: LocalRun,
        app_secret: str,
        *,
        wa_id: str,
        name: str,
        show: Callable[[str], None],
        note: Callable[[str], None],
    ) -> None:
        """`show` prints what arrives while the customer may be typing; `note` answers what they typed."""
        self.demo = demo
        self.app_secret = app_secret
        self.wa_id = wa_id
        self.name = name
        self.show = show
        self.note = note
        self.http = httpx.Client(timeout=POLL_WAIT_S + 10)
        self._offer: Outgoing | None = None  # the last message with choices: what a number taps
        self._after = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._reader = threading.Thread(target=self._read_replies, name="chat-replies", daemon=True)

    def start(self) -> Chat:
        self._after = self._latest_seq()  # earlier sessions' messages are not shown again
        self._reader.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._reader.join(timeout=1)  # a long poll in progress is abandoned with the process
        self.http.close()

    def say(self, line: str) -> bool:
        """Act on one typed line; False when it asks to quit."""
        line = line.strip()
        if not line:
            return True
        command, _, rest = line.partition(" ")
        if command in ("/sair", "/quit", "/exit"):
            return False
        if command == "/foto":
            image: dict[str, Any] = {"id": str(secrets.randbelow(10**15)), "mime_type": "image/jpeg",
                                     "sha256": secrets.token_hex(32)}  # fmt: skip
            if rest.strip():
                image["caption"] = rest.strip()
            self.post("image", image)
        elif command == "/local":
            self.post("location", LOCATION)
        elif command.startswith("/"):
            self.note(HELP)
        elif not self._tap(line):
            self.post("text", {"body": line})
        return True

    def post(self, kind: str, content: dict[str, Any], *, context_wamid: str | None = None) -> bool:
        """Post one message as Meta would; True when the web took it."""
        wamid = f"wamid.chat.{uuid.uuid4().hex}"
        body = customer_message(self.wa_id, self.name, wamid, kind, content, context_wamid=context_wamid)
        url = f"{self.demo.web_url}/webhook/whatsapp"
        try:
            answer = self.http.post(url, content=body, headers=signed_headers(self.app_secret, body))
        except httpx.HTTPError as error:
            self.note(
                f"(not sent: the web at {self.demo.web_url} does not answer: {error}; is make run running?)"
            )
            return False
        if answer.status_code != 200:
            self.note(f"(not sent: the web answered {answer.status_code} {answer.text[:200]})")
            return False
        return True

    def _tap(self, line: str) -> bool:
        """A number that picks one of the last offered choices taps it; anything else is text."""
        with self._lock:
            offer = self._offer
        if offer is None or not line.isdigit() or not 1 <= int(line) <= len(offer.choices):
            return False
        choice = offer.choices[int(line) - 1]
        if offer.kind == "list":
            row = {"id": choice.id, "title": choice.title, "description": choice.description or ""}
            reply = {"type": "list_reply", "list_reply": row}
        else:
            reply = {"type": "button_reply", "button_reply": {"id": choice.id, "title": choice.title}}
        self.note(f"(tapped: {choice.title})")
        self.post("interactive", reply, context_wamid=offer.wamid)
        return True

    def _read_replies(self) -> None:
        after = self._after
        while not self._stopping.is_set():
            try:
                answer = self.http.get(
                    f"{self.demo.cloud_api_url}/demo/conversations/{self.wa_id}",
                    params={"after": after, "wait": POLL_WAIT_S},
                )
                replies = msgspec.json.decode(answer.content, type=_Replies).messages
            except (httpx.HTTPError, msgspec.DecodeError):
                if self._stopping.wait(1.0):
                    return
                continue
            for message in replies:
                after = max(after, message.seq)
                self._show(message)

    def _latest_seq(self) -> int:
        """Where this session starts reading: after what earlier sessions were already shown."""
        try:
            answer = self.http.get(f"{self.demo.cloud_api_url}/demo/conversations/{self.wa_id}")
            return max(
                (m.seq for m in msgspec.json.decode(answer.content, type=_Replies).messages), default=0
            )
        except (httpx.HTTPError, msgspec.DecodeError):
            return 0

    def _show(self, message: Outgoing) -> None:
        if message.choices:
            with self._lock:
                self._offer = message
        lines = describe(message)
        self.show("\n".join(["bot: " + lines[0], *("     " + line for line in lines[1:])]))


def find_demo(wait_s: float = WEB_WAIT_S) -> LocalRun:
    """The demo `make run` recorded under the data dir, once its web answers; NoDemo says what is missing."""
    settings = get_settings()
    needs_demo = (
        "zapq chat needs make run in demo mode, with WHATSAPP_ACCESS_TOKEN and WHATSAPP_API_URL unset:"
        " with them, replies go to real WhatsApp numbers; write to yours from a phone instead"
    )
    if not settings.demo_mode:
        raise NoDemo(needs_demo)
    deadline = time.monotonic() + wait_s
    while True:
        run = find_local_run(settings.data_dir)
        if run is not None and not run.is_demo:
            raise NoDemo(f"{needs_demo} (the make run under {settings.zapq_data_dir} has them set)")
        if run is not None and _answers(f"{run.cloud_api_url}/demo") and _answers(f"{run.web_url}/health"):
            return run
        if time.monotonic() > deadline:
            raise NoDemo(
                f"zapq chat: no make run is up under {settings.zapq_data_dir} (ZAPQ_DATA_DIR): start"
                " make run in another terminal first"
            )
        time.sleep(0.5)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zapq.chat", description=HELP)
    parser.add_argument("--wa-id", default=DEFAULT_WA_ID, help="the customer's WhatsApp id (digits)")
    parser.add_argument("--name", default=DEFAULT_NAME, help="the customer's profile name")
    parser.add_argument(
        "--wait", type=float, default=WEB_WAIT_S, help="seconds to wait for make run to come up"
    )
    args = parser.parse_args(argv)
    if not args.wa_id.isdigit() or len(args.wa_id) > 20:
        parser.error("--wa-id takes digits only, as WhatsApp ids are (e.g. 5511987650000)")
    try:
        return chat(args.wa_id, args.name, args.wait)
    except KeyboardInterrupt:
        return 0


def chat(wa_id: str, name: str, wait_s: float) -> int:
    try:
        demo = find_demo(wait_s)
        ensure_webhook_secret()
        app_secret = get_settings().whatsapp_webhook_secret
    except (SettingsError, NoDemo) as error:
        print(error if isinstance(error, NoDemo) else f"zapq chat: {error}", file=sys.stderr)
        return 2
    interactive = sys.stdin.isatty()
    prompt = "you: " if interactive else ""

    def show(text: str) -> None:
        if interactive:  # over the prompt the customer may be typing at, then the prompt again
            print(f"\r\033[K{text}\n{prompt}", end="", flush=True)
        else:
            print(text, flush=True)

    def note(text: str) -> None:
        print(text, flush=True)

    note(f"Chatting as {name} ({wa_id}) with the demo at {demo.web_url}. {HELP}")
    session = Chat(demo, app_secret, wa_id=wa_id, name=name, show=show, note=note).start()
    try:
        while session.say(input(prompt)):
            pass
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        session.stop()
    if interactive:
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
