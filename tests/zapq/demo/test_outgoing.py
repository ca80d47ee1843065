"""What the bot sent is shown as a person reads it: body, then the choices numbered as WhatsApp lists them."""

from __future__ import annotations

from zapq.demo.outgoing import Choice, describe, outgoing, request_decoder


def test_buttons_are_numbered_from_one_after_the_wrapped_body() -> None:
    request = request_decoder.decode(
        b'{"to": "5511987650000", "type": "interactive", "interactive": {"type": "button",'
        b' "header": {"type": "text", "text": "Loja"}, "body": {"text": "Como posso ajudar?"},'
        b' "footer": {"text": "zapq"}, "action": {"buttons": ['
        b'{"type": "reply", "reply": {"id": "see", "title": "Ver carros"}},'
        b'{"type": "reply", "reply": {"id": "book", "title": "Agendar"}}]}}}'
    )

    message = outgoing(request, seq=7, wamid="wamid.x")

    assert message.kind == "buttons" and message.choices == [
        Choice("see", "Ver carros"),
        Choice("book", "Agendar"),
    ]
    assert describe(message) == ["*Loja*", "Como posso ajudar?", "_zapq_", "  1) Ver carros", "  2) Agendar"]


def test_list_rows_of_every_section_are_one_numbered_list_with_their_descriptions() -> None:
    request = request_decoder.decode(
        b'{"to": "5511987650000", "type": "interactive", "interactive": {"type": "list",'
        b' "body": {"text": "Quando?"}, "action": {"button": "Horarios", "sections": ['
        b'{"title": "Sabado", "rows": [{"id": "s9", "title": "9h", "description": "com Ana"}]},'
        b'{"title": "Domingo", "rows": [{"id": "d10", "title": "10h"}]}]}}}'
    )

    message = outgoing(request, seq=1, wamid="wamid.y")

    assert [choice.id for choice in message.choices] == ["s9", "d10"]
    assert describe(message) == ["Quando?", "[Horarios]", "  1) 9h (com Ana)", "  2) 10h"]


def test_long_lines_are_wrapped_and_blank_lines_kept() -> None:
    request = request_decoder.decode(
        b'{"to": "1", "type": "text", "text": {"body": "' + b"palavra " * 20 + b'\\n\\nfim"}}'
    )

    lines = describe(outgoing(request, seq=1, wamid="w"), width=40)

    assert all(len(line) <= 40 for line in lines) and lines[-2:] == ["", "fim"]


def test_a_kind_the_demo_does_not_know_is_shown_by_its_type() -> None:
    request = request_decoder.decode(b'{"to": "1", "type": "sticker", "sticker": {"id": "9"}}')

    assert describe(outgoing(request, seq=1, wamid="w")) == ["a 'sticker' message"]
