from __future__ import annotations

import datetime as dt

from tests.support.graph_api import accepted
from tests.support.http_peer import HttpPeer
from tests.zapq.conversation.messages import WA_ID, WEDNESDAY_10AM, burst, media, new_customer, stored, tap
from zapq.conversation.engine import BookTestDrive, ConversationState, Handoff, OptOut
from zapq.conversation.memory_inventory import InMemoryInventory
from zapq.conversation.reading import MenuChoice
from zapq.conversation.rules import MENU_BUTTONS, RuleBasedEngine
from zapq.conversation.when import SAO_PAULO
from zapq.whatsapp.client import MAX_BUTTONS_BODY, WhatsAppClient
from zapq.whatsapp.events import InboundMessage


def conversation(
    rules: RuleBasedEngine, turns: list[list[InboundMessage]], state: ConversationState | None = None
) -> list[tuple[str, ConversationState, list]]:
    """Play bursts in order, storing the state as JSON between them like the caller does."""
    state = state or new_customer()
    replies = []
    for batch in turns:
        reply = rules.reply(state, batch)
        state = stored(reply.state)
        replies.append((reply.text, state, reply.actions))
    return replies


def test_a_burst_of_greeting_and_question_gets_one_reply_that_greets_and_answers(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("oi", "tudo bem?", "vocês têm o Corolla 2024?"))

    assert reply.text.startswith("Olá, Maria! Tudo ótimo por aqui")
    assert "• Toyota Corolla XEi 2.0 2024, prata, R$ 139.990,00" in reply.text
    assert "2022" not in reply.text  # the 2022 Corolla is reserved
    assert [turn.role for turn in reply.state.history] == ["customer"] * 3 + ["assistant"]


def test_greeting_alone_echoes_the_time_of_day_and_offers_the_menu(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("Boa tarde!"))

    assert reply.text.startswith("Boa tarde, Maria!")
    assert "test drive" in reply.text
    assert reply.buttons == MENU_BUTTONS


def test_greeting_without_a_profile_name_greets_without_one(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(profile_name=None), burst("olá"))

    assert reply.text.startswith("Olá!")


def test_a_model_is_found_whatever_the_case_accents_and_separators(rules: RuleBasedEngine):
    for question, line in [
        ("tem hb20?", "Hyundai HB20 Comfort 1.0 2022, prata, R$ 72.990,00"),
        ("TEM HB 20?", "Hyundai HB20 Comfort 1.0 2022"),
        ("e o t cross?", "Volkswagen T-Cross Comfortline 1.0 TSI 2024, cinza, R$ 134.990,00"),
        ("vocês têm hrv?", "Honda HR-V EXL 1.5 2023"),
    ]:
        reply = rules.reply(new_customer(), burst(question))
        assert line in reply.text, question


def test_a_budget_and_body_type_list_only_cars_that_fit(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("queria um suv até 120 mil"))

    assert "Chevrolet Spin Premier 1.8 7 lugares 2022, prata, R$ 99.990,00" in reply.text
    assert "Fiat Pulse Audace 1.0 Turbo 2023, cinza, R$ 104.990,00" in reply.text
    assert "Nissan Kicks Advance 1.6 2022, azul, R$ 104.990,00" in reply.text
    assert "T-Cross" not in reply.text  # R$ 134.990,00 is over budget
    assert "Polo" not in reply.text  # a hatch


def test_a_model_we_lack_is_said_so_with_alternatives_of_the_same_make(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("tem fiat fastback?"))

    assert "No momento não temos Fiat Fastback disponível" in reply.text
    assert "Fiat Mobi Like 1.0 2022" in reply.text


def test_a_year_we_lack_offers_the_same_model_in_other_years(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("tem corolla 2019?"))

    assert "não temos Toyota Corolla 2019" in reply.text
    assert "Toyota Corolla XEi 2.0 2024" in reply.text


def test_a_price_question_answers_for_the_car_just_discussed(rules: RuleBasedEngine):
    replies = conversation(
        rules, [burst("tem hb20?"), burst("quanto custa?", at=WEDNESDAY_10AM + dt.timedelta(minutes=1))]
    )

    assert replies[1][0].startswith("O Hyundai HB20 Comfort 1.0 2022 (prata) está por R$ 72.990,00.")


def test_a_price_question_naming_a_car_answers_its_price(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("qual o preço do T-Cross?"))

    assert "O Volkswagen T-Cross Comfortline 1.0 TSI 2024 (cinza) está por R$ 134.990,00." in reply.text


def test_a_price_question_without_any_car_asks_which(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("qual o valor?"))

    assert reply.text.startswith("De qual carro você quer saber o preço?")


def test_a_test_drive_booked_over_several_turns_is_stored(
    rules: RuleBasedEngine, inventory: InMemoryInventory
):
    minute = dt.timedelta(minutes=1)
    replies = conversation(
        rules,
        [
            burst("vocês têm o corolla 2024?"),
            burst("quero agendar um test drive", at=WEDNESDAY_10AM + minute),
            burst("sábado", at=WEDNESDAY_10AM + 2 * minute),
            burst("às 10h", at=WEDNESDAY_10AM + 3 * minute),
        ],
    )

    assert "test drive do Toyota Corolla XEi 2.0 2024" in replies[1][0]
    assert "Qual dia" in replies[1][0]
    assert replies[2][0] == "E qual horário para sábado, 22/11? Nesse dia atendemos das 9h às 13h."
    text, state, actions = replies[3]
    corolla = inventory.vehicle_id("ZQ-0001")
    saturday_10am = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)
    assert actions == [BookTestDrive(vehicle_id=corolla, starts_at=saturday_10am)]
    assert "agendado para sábado, 22/11, às 10:00" in text
    assert state.pending_test_drive is None
    rows = [(booked.wa_id, booked.vehicle_id, booked.starts_at) for booked in inventory.test_drives]
    assert rows == [(WA_ID, corolla, saturday_10am)]


def test_a_test_drive_asked_in_one_message_is_booked_at_once(
    rules: RuleBasedEngine, inventory: InMemoryInventory
):
    reply = rules.reply(new_customer(), burst("quero fazer um test drive do HB20 amanhã às 14:30"))

    thursday = dt.datetime(2025, 11, 20, 14, 30, tzinfo=SAO_PAULO)
    assert reply.actions == [BookTestDrive(vehicle_id=inventory.vehicle_id("ZQ-0015"), starts_at=thursday)]
    assert [booked.starts_at for booked in inventory.test_drives] == [thursday]


def test_a_test_drive_on_a_closed_day_is_refused_and_the_day_asked_again(
    rules: RuleBasedEngine, inventory: InMemoryInventory
):
    reply = rules.reply(new_customer(), burst("dá pra testar o onix domingo às 10h?"))

    assert reply.actions == []
    assert reply.text.startswith("Nesse dia a loja não abre.")
    assert reply.state.pending_test_drive is not None
    assert reply.state.pending_test_drive.awaiting == "day"
    assert inventory.test_drives == []


def test_a_test_drive_without_a_chosen_car_is_booked_without_one(
    rules: RuleBasedEngine, inventory: InMemoryInventory
):
    replies = conversation(
        rules,
        [
            burst("quero agendar um test drive"),
            burst("ainda não sei, pode ser 25/11 às 15h", at=WEDNESDAY_10AM + dt.timedelta(minutes=1)),
        ],
    )

    assert replies[0][0].startswith("Qual carro você quer testar?")
    tuesday_3pm = dt.datetime(2025, 11, 25, 15, 0, tzinfo=SAO_PAULO)
    assert replies[1][2] == [BookTestDrive(vehicle_id=None, starts_at=tuesday_3pm)]
    assert [(booked.vehicle_id, booked.starts_at) for booked in inventory.test_drives] == [
        (None, tuesday_3pm)
    ]


def test_the_same_booking_delivered_twice_stores_one_test_drive(
    rules: RuleBasedEngine, inventory: InMemoryInventory
):
    state = stored(rules.reply(new_customer(), burst("quero testar o polo sexta")).state)

    for _ in range(2):
        reply = rules.reply(state, burst("10:30", at=WEDNESDAY_10AM + dt.timedelta(minutes=1)))
        assert len(reply.actions) == 1

    assert len(inventory.test_drives) == 1


def test_a_booking_can_be_cancelled_before_it_is_complete(
    rules: RuleBasedEngine, inventory: InMemoryInventory
):
    replies = conversation(
        rules,
        [
            burst("quero agendar test drive do civic"),
            burst("deixa pra lá", at=WEDNESDAY_10AM + dt.timedelta(minutes=1)),
        ],
    )

    assert replies[1][0].startswith("Tudo bem, deixei o agendamento de lado: nenhum test drive foi marcado.")
    assert replies[1][1].pending_test_drive is None
    assert inventory.test_drives == []


def test_an_exact_stop_word_opts_out(rules: RuleBasedEngine):
    for word in ["PARAR", " sair ", "Stop"]:
        reply = rules.reply(new_customer(), burst(word))
        assert reply.actions == [OptOut()], word
        assert "não vai mais receber mensagens" in reply.text


def test_a_stop_word_inside_a_sentence_does_not_opt_out(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("não consigo parar de pensar no compass"))

    assert reply.actions == []
    assert "Jeep Compass" in reply.text


def test_asking_for_a_person_hands_off_with_a_summary(rules: RuleBasedEngine):
    replies = conversation(
        rules,
        [
            burst("tem hb20?"),
            burst("prefiro falar com um atendente", at=WEDNESDAY_10AM + dt.timedelta(minutes=1)),
        ],
    )

    text, _, actions = replies[1]
    assert "um atendente vai falar com você em breve" in text.lower()
    [handoff] = actions
    assert isinstance(handoff, Handoff)
    assert handoff.summary.startswith(f"Maria Silva ({WA_ID}) pediu para falar com um atendente.")
    assert "Interesse: Hyundai HB20." in handoff.summary
    assert '"tem hb20?"' in handoff.summary


def test_asking_for_the_seller_hands_off(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("cadê o vendedor?"))

    assert [type(action) for action in reply.actions] == [Handoff]


def test_a_photo_without_caption_is_acknowledged_with_the_menu(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), [media("image")])

    assert reply.text.startswith("Recebi sua foto!")
    assert reply.buttons == MENU_BUTTONS


def test_a_photo_caption_is_answered_with_the_acknowledgement(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), [media("image", caption="quanto custa esse kwid?")])

    assert reply.text.startswith("Recebi sua foto!")
    assert "R$ 59.990,00" in reply.text


def test_an_audio_asks_the_customer_to_write(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), [media("audio")])

    assert "não consigo ouvir áudios" in reply.text


def test_each_media_kind_gets_an_answer(rules: RuleBasedEngine):
    for kind in ["sticker", "video", "document", "location", "contacts", "unsupported"]:
        reply = rules.reply(
            new_customer(), [media(kind, caption="Maria Vendedora" if kind == "contacts" else None)]
        )
        assert reply.text, kind
        assert reply.actions == [], kind  # a shared contact's name is not a request for a seller


def test_a_batch_of_reactions_only_gets_no_reply_and_leaves_the_state_alone(rules: RuleBasedEngine):
    state = new_customer()

    reply = rules.reply(state, [media("reaction", caption="👍")])

    assert reply.text == ""
    assert reply.actions == []
    assert reply.state == state


def test_text_it_does_not_understand_gets_the_menu(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("asdfgh"))

    assert "Posso te ajudar com" in reply.text
    assert reply.buttons == MENU_BUTTONS


def test_the_menu_buttons_lead_where_they_say(rules: RuleBasedEngine):
    cars = rules.reply(new_customer(), tap("ver_carros", "Ver carros"))
    booking = rules.reply(new_customer(), tap("agendar_test_drive", "Agendar test drive"))
    person = rules.reply(new_customer(), tap("falar_atendente", "Falar com atendente"))

    assert cars.text.startswith("Alguns carros disponíveis agora:\n• Volkswagen Gol")
    assert booking.text.startswith("Qual carro você quer testar?")
    assert [type(action) for action in person.actions] == [Handoff]


def test_every_button_zapq_sends_is_a_choice_it_acts_on():
    assert [button_id for button_id, _ in MENU_BUTTONS] == list(MenuChoice)


def test_a_tapped_button_means_its_id_whatever_its_title_says(rules: RuleBasedEngine):
    cars = rules.reply(new_customer(), tap(MenuChoice.SEE_CARS, "Mostrar"))
    booking = rules.reply(new_customer(), tap(MenuChoice.BOOK_TEST_DRIVE, "Dirigir um"))
    person = rules.reply(new_customer(), tap(MenuChoice.TALK_TO_PERSON, "Outro assunto"))

    assert cars.text.startswith("Alguns carros disponíveis agora:\n• Volkswagen Gol")
    assert booking.text.startswith("Qual carro você quer testar?")
    assert [type(action) for action in person.actions] == [Handoff]
    assert person.text.endswith("Um atendente vai falar com você em breve.")


def test_a_tap_on_a_row_zapq_did_not_define_is_read_by_its_title(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), tap("suv-compacto", "SUV até 120 mil"))

    assert reply.text.startswith("Encontrei estas opções:\n• Chevrolet Spin Premier 1.8 7 lugares 2022")
    assert reply.actions == []


def test_thanks_gets_a_polite_answer(rules: RuleBasedEngine):
    reply = rules.reply(new_customer(), burst("valeu!"))

    assert reply.text.startswith("Por nada!")


def test_a_profile_name_of_a_thousand_characters_is_greeted_with_buttons_within_metas_limits(
    rules: RuleBasedEngine, http_peer: HttpPeer
):
    reply = rules.reply(new_customer(profile_name="Maria" * 200), burst("oi"))

    assert reply.text.startswith(f"Olá, {'Maria' * 5}{'Maria'[:4]}…!")
    assert reply.buttons == MENU_BUTTONS and len(reply.text) <= MAX_BUTTONS_BODY
    http_peer.default = accepted("wamid.greeting")
    with WhatsAppClient(http_peer.url, "test-token", "106540352242922") as client:
        assert client.send_buttons(WA_ID, reply.text, reply.buttons) == "wamid.greeting"
