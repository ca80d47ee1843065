from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.zapq.conversation.messages import burst, media
from zapq.conversation.reading import (
    BatchReading,
    VehicleQuery,
    find_budget,
    find_ordinal,
    find_vehicle_queries,
    fold,
    is_opt_out,
    read_batch,
)
from zapq.whatsapp.events import InboundMessage

IN_STOCK = [("Volkswagen", "T-Cross"), ("Honda", "HR-V"), ("Hyundai", "HB20")]
WEDNESDAY = dt.date(2025, 11, 19)


def test_folding_drops_case_accents_and_extra_spaces():
    assert fold("  Vocês   TÊM o Corolla?  ") == "voces tem o corolla?"
    assert fold("ver_carros") == "ver carros"


def test_budgets_are_read_in_reais():
    assert find_budget("suv ate 120 mil") == Decimal(120_000)
    assert find_budget("abaixo de r$ 90.000,00") == Decimal(90_000)
    assert find_budget("no maximo 80k") == Decimal(80_000)
    assert find_budget("ate 95") == Decimal(95_000)
    assert find_budget("ate 10h") is None
    assert find_budget("ate amanha") is None


def test_models_are_recognised_with_or_without_separators():
    for text in ["t-cross", "t cross", "tcross"]:
        assert find_vehicle_queries(text, IN_STOCK) == [VehicleQuery(make="Volkswagen", model="T-Cross")]
    assert find_vehicle_queries("hr v 2023", IN_STOCK) == [
        VehicleQuery(make="Honda", model="HR-V", year=2023)
    ]


def test_the_longest_model_name_wins():
    assert find_vehicle_queries("tem corolla cross?", []) == [
        VehicleQuery(make="Toyota", model="Corolla Cross")
    ]
    assert find_vehicle_queries("hb20s ou hb20", IN_STOCK) == [
        VehicleQuery(make="Hyundai", model="HB20S"),
        VehicleQuery(make="Hyundai", model="HB20"),
    ]


def test_a_make_alone_or_a_budget_alone_is_a_query():
    assert find_vehicle_queries("carros da vw", []) == [VehicleQuery(make="Volkswagen")]
    assert find_vehicle_queries("picape ate 200 mil", []) == [
        VehicleQuery(max_price=Decimal(200_000), body_type="pickup")
    ]
    assert find_vehicle_queries("bom dia", []) == []


def test_a_burst_is_read_as_a_whole():
    reading = read_batch(burst("oi", "tudo bem?", "vocês têm o Corolla 2024?"), IN_STOCK, WEDNESDAY)

    assert reading.greeting == "ola"
    assert reading.asks_how_are_you
    assert reading.queries == [VehicleQuery(make="Toyota", model="Corolla", year=2024)]
    assert not reading.opt_out


def test_shared_contact_names_and_reactions_are_not_read_as_requests():
    reading = read_batch(
        [media("contacts", caption="Vendedor Zé"), media("reaction", caption="👍")], [], WEDNESDAY
    )

    assert not reading.wants_human
    assert reading.media_kinds == ["contacts"]


def typed(text: str) -> InboundMessage:
    return burst(text)[0]


def test_plain_requests_to_stop_messaging_opt_out():
    for text in [
        "PARAR",
        " sair ",
        "pode parar de me mandar mensagem",
        "para de me enviar mensagens, por favor",
        "não quero mais receber mensagens",
        "Não quero receber mensagem nenhuma... não quero receber nada",
        "me tira da lista",
        "me remove da sua lista",
        "não me mandem mais mensagens",
        "quero me descadastrar",
    ]:
        assert is_opt_out(typed(text)), text


def test_sentences_about_stopping_something_else_do_not_opt_out():
    for text in [
        "não quero parar de receber as ofertas",
        "pode parar de me mandar foto",
        "o Compass para bem?",
        "não consigo parar de pensar no compass",
        "parar o carro na garagem",
        "não precisa parar de me mandar mensagem",
    ]:
        assert not is_opt_out(typed(text)), text
    assert not is_opt_out(media("image", caption="PARAR"))


def test_km_after_a_number_is_mileage_and_without_it_a_price():
    assert find_vehicle_queries("tem algum automatico ate 80 mil?", []) == [
        VehicleQuery(max_price=Decimal(80_000), transmission="automatic")
    ]
    assert find_vehicle_queries("ate 80 mil km", []) == [VehicleQuery(max_km=80_000)]
    assert find_vehicle_queries("com menos de 30.000 km ate 90 mil", []) == [
        VehicleQuery(max_price=Decimal(90_000), max_km=30_000)
    ]
    assert find_budget("menos de 30.000 km") is None


def test_gearbox_fuel_colour_and_seats_narrow_every_query():
    assert find_vehicle_queries("tem hb20 manual branco?", IN_STOCK) == [
        VehicleQuery(make="Hyundai", model="HB20", transmission="manual", colour="branco")
    ]
    assert find_vehicle_queries("suv diesel de 7 lugares", []) == [
        VehicleQuery(body_type="suv", fuel="diesel", min_seats=7)
    ]
    assert find_vehicle_queries("algum hibrido ou eletrico?", []) == [VehicleQuery(fuel="hybrid")]
    assert find_vehicle_queries("carro eletrico", []) == [VehicleQuery(fuel="electric")]
    assert find_vehicle_queries("tem alguma branca?", []) == [VehicleQuery(colour="branco")]
    assert find_vehicle_queries("cambio cvt", []) == [VehicleQuery(transmission="automatic")]


def test_superlatives_set_the_search_order():
    assert read_batch(burst("qual o carro mais barato?"), [], WEDNESDAY).order == "cheapest"
    assert read_batch(burst("e o mais caro?"), [], WEDNESDAY).order == "dearest"
    assert read_batch(burst("qual o mais novo?"), [], WEDNESDAY).order == "newest"
    assert read_batch(burst("o com menos km"), [], WEDNESDAY).order == "least_km"
    assert read_batch(burst("tem suv?"), [], WEDNESDAY).order is None


def test_a_query_describes_its_filters_for_the_customer():
    assert VehicleQuery(max_price=Decimal(80_000), transmission="automatic").describe() == (
        "carro automático até R$ 80.000,00"
    )
    assert VehicleQuery(body_type="suv", fuel="diesel").describe() == "SUV a diesel"
    assert VehicleQuery(min_seats=7, max_km=50_000).describe() == "carro com 7 lugares com até 50.000 km"


def test_everyday_questions_are_recognised():
    def reading(text: str) -> BatchReading:
        return read_batch(burst(text), IN_STOCK, WEDNESDAY)

    assert reading("onde fica a loja?").asks_address
    assert reading("qual o endereço?").asks_address
    assert reading("que horas vocês abrem amanhã?").asks_hours
    assert reading("vocês abrem domingo?").asks_hours
    assert reading("qual o telefone?").asks_phone
    assert reading("quais documentos preciso?").asks_documents
    assert reading("dá pra financiar? qual a entrada?").asks_financing
    assert reading("aceita meu carro na troca?").offers_trade_in
    assert reading("esse é o meu carro atual, um Gol 2015").offers_trade_in
    assert reading("qual a diferença entre o HR-V e o T-Cross?").wants_comparison
    assert not reading("tem HB20?").asks_about_the_store
    assert not reading("quero trocar o dia do test drive").offers_trade_in


def test_booking_changes_are_recognised_apart_from_new_bookings():
    def reading(text: str) -> BatchReading:
        return read_batch(burst(text), IN_STOCK, WEDNESDAY)

    assert reading("preciso remarcar, pode ser domingo às 10h?").wants_reschedule
    assert reading("dá pra reagendar?").wants_reschedule
    assert reading("quero trocar o dia do test drive").wants_reschedule
    assert reading("quero cancelar o test drive de sexta").cancels_booking
    assert reading("desmarca o do Nivus").cancels_booking
    assert not reading("quero agendar um test drive").wants_reschedule
    assert [mention.day for mention in reading("remarcar o de sexta para sábado").days] == [
        dt.date(2025, 11, 21),
        dt.date(2025, 11, 22),
    ]


def test_an_answer_picking_from_a_numbered_list():
    assert find_ordinal("o primeiro") == 1
    assert find_ordinal("2") == 2
    assert find_ordinal("o segundo.") == 2
    assert find_ordinal("o último") is None  # folded text only
    assert find_ordinal("o ultimo") == -1
    assert find_ordinal("segunda às 10h") is None
    assert find_ordinal("quero 2 carros") is None
