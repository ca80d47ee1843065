"""What customers say to the dealership's assistant, and what it must answer and store (issue #11, section 4).

The clock starts on Wednesday 19/11/2025 at 10:00 in São Paulo; each turn is a minute later. The demo
stock (zapq/conversation/demo_stock.csv) and the default dealership facts (zapq/settings.py) are assumed:
open Monday to Friday 9h-18h and Saturday 9h-13h, closed on Sunday.
"""

from __future__ import annotations

from decimal import Decimal

from tests.zapq.conversation.scripts import Drive, Script, local, photo, say, script, tap
from zapq.conversation.dealership import default_dealership
from zapq.conversation.engine import (
    BookTestDrive,
    CancelTestDrive,
    Handoff,
    OptIn,
    OptOut,
    RescheduleTestDrive,
)
from zapq.conversation.formatting import format_brl

THU, FRI, SAT, SUN, MON, TUE = 20, 21, 22, 23, 24, 25
FINANCING = default_dealership().financing
COROLLA_PRICE = Decimal("139990.00")
COROLLA_DOWN = FINANCING.min_down_payment(COROLLA_PRICE)
ONIX_PRICE = Decimal("79990.00")
PERSON = "falar_atendente"

NIVUS_FRIDAY = say(
    "quero fazer um test drive do Nivus sexta às 10h",
    has=[
        "Seu test drive do Volkswagen Nivus Highline 1.0 TSI 2022"
        " está agendado para sexta-feira, 21/11, às 10:00"
    ],
    actions=[BookTestDrive],
    intent="test_drive",
    drives=[Drive("booked", local(FRI, 10), "Nivus")],
)
HRV_SATURDAY = say(
    "quero agendar outro test drive, do HR-V, sábado às 10h",
    has=["Seu test drive do Honda HR-V EXL 1.5 2023 está agendado para sábado, 22/11, às 10:00"],
    actions=[BookTestDrive],
    drives=[Drive("booked", local(FRI, 10), "Nivus"), Drive("booked", local(SAT, 10), "HR-V")],
)

TEST_DRIVES = (
    script(
        "reschedule_by_weekday_refuses_a_closed_day_then_moves_the_booking",
        NIVUS_FRIDAY,
        say(
            "preciso remarcar, pode ser domingo às 10h?",
            has=[
                "Não consigo remarcar para domingo, 23/11, às 10:00: nesse dia a loja não abre.",
                "Atendemos de segunda a sexta, das 9h às 18h, e aos sábados, das 9h às 13h.",
                "continua marcado para sexta-feira, 21/11, às 10:00",
            ],
            lacks=["Remarquei"],
            intent="reschedule",
            drives=[Drive("booked", local(FRI, 10), "Nivus")],
        ),
        say(
            "sábado às 15h então",
            has=[
                "nesse horário a loja está fechada",
                "Nesse dia atendemos das 9h às 13h",
                "continua marcado",
            ],
            drives=[Drive("booked", local(FRI, 10), "Nivus")],
        ),
        say(
            "11h",
            has=["Remarquei seu test drive para sábado, 22/11, às 11:00, com o Volkswagen Nivus"],
            actions=[RescheduleTestDrive],
            intent="reschedule",
            drives=[Drive("rescheduled", local(SAT, 11), "Nivus")],
        ),
    ),
    script(
        "reschedule_by_date_moves_the_one_booking_in_place",
        say(
            "quero testar o Compass amanhã às 15h",
            has=["Jeep Compass", "quinta-feira, 20/11, às 15:00"],
            actions=[BookTestDrive],
            drives=[Drive("booked", local(THU, 15), "Compass")],
        ),
        say(
            "quero remarcar o test drive para 25/11 às 9h",
            has=["Remarquei seu test drive para terça-feira, 25/11, às 09:00, com o Jeep Compass"],
            actions=[RescheduleTestDrive],
            drives=[Drive("rescheduled", local(TUE, 9), "Compass")],
        ),
        say(
            "remarca para hoje às 8h",
            has=["esse horário já passou", "continua marcado para terça-feira, 25/11"],
            drives=[Drive("rescheduled", local(TUE, 9), "Compass")],
        ),
    ),
    script(
        "reschedule_the_one_named_by_its_car",
        NIVUS_FRIDAY,
        HRV_SATURDAY,
        say(
            "remarca o do Nivus para segunda às 14h",
            has=["Remarquei seu test drive para segunda-feira, 24/11, às 14:00, com o Volkswagen Nivus"],
            actions=[RescheduleTestDrive],
            drives=[Drive("rescheduled", local(MON, 14), "Nivus"), Drive("booked", local(SAT, 10), "HR-V")],
        ),
    ),
    script(
        "reschedule_the_one_named_by_its_day",
        NIVUS_FRIDAY,
        HRV_SATURDAY,
        say(
            "dá pra remarcar o de sábado para terça às 16h?",
            has=["Remarquei seu test drive para terça-feira, 25/11, às 16:00, com o Honda HR-V"],
            actions=[RescheduleTestDrive],
            drives=[Drive("booked", local(FRI, 10), "Nivus"), Drive("rescheduled", local(TUE, 16), "HR-V")],
        ),
    ),
    script(
        "with_two_bookings_and_none_named_the_customer_is_asked_which",
        NIVUS_FRIDAY,
        HRV_SATURDAY,
        say(
            "quero remarcar o test drive",
            has=[
                "Você tem 2 test drives agendados:",
                "1. sexta-feira, 21/11, às 10:00, com o Volkswagen Nivus",
                "2. sábado, 22/11, às 10:00, com o Honda HR-V",
                "Qual deles você quer remarcar?",
            ],
            drives=[Drive("booked", local(FRI, 10), "Nivus"), Drive("booked", local(SAT, 10), "HR-V")],
        ),
        say("o primeiro", has=["Para qual dia e horário você quer remarcar?"]),
        say(
            "segunda às 9h",
            has=["Remarquei seu test drive para segunda-feira, 24/11, às 09:00, com o Volkswagen Nivus"],
            actions=[RescheduleTestDrive],
            drives=[Drive("rescheduled", local(MON, 9), "Nivus"), Drive("booked", local(SAT, 10), "HR-V")],
        ),
        say(
            "quero cancelar o test drive",
            has=["Você tem 2 test drives agendados:", "Qual deles você quer cancelar?"],
            drives=[Drive("rescheduled", local(MON, 9), "Nivus"), Drive("booked", local(SAT, 10), "HR-V")],
        ),
        say(
            "o de sábado",
            has=["cancelei o seu test drive de sábado, 22/11, às 10:00, com o Honda HR-V"],
            actions=[CancelTestDrive],
            intent="cancel",
            drives=[Drive("rescheduled", local(MON, 9), "Nivus"), Drive("cancelled", local(SAT, 10), "HR-V")],
        ),
    ),
    script(
        "cancel_by_weekday_then_book_the_same_slot_again",
        NIVUS_FRIDAY,
        say(
            "quero cancelar o test drive de sexta",
            has=["Pronto, cancelei o seu test drive de sexta-feira, 21/11, às 10:00"],
            actions=[CancelTestDrive],
            intent="cancel",
            drives=[Drive("cancelled", local(FRI, 10), "Nivus")],
        ),
        say(
            "quero cancelar o test drive de sexta",
            has=["Você não tem nenhum test drive agendado"],
            lacks=["cancelei"],
            drives=[Drive("cancelled", local(FRI, 10), "Nivus")],
        ),
        say(
            "mudei de ideia, quero agendar o test drive do Nivus sexta às 10h",
            has=["agendado para sexta-feira, 21/11, às 10:00"],
            actions=[BookTestDrive],
            drives=[Drive("cancelled", local(FRI, 10), "Nivus"), Drive("booked", local(FRI, 10), "Nivus")],
        ),
    ),
    script(
        "cancel_by_car",
        NIVUS_FRIDAY,
        HRV_SATURDAY,
        say(
            "cancela o do HR-V",
            has=["cancelei o seu test drive de sábado, 22/11, às 10:00, com o Honda HR-V"],
            actions=[CancelTestDrive],
            lacks=["Nivus"],
            drives=[Drive("booked", local(FRI, 10), "Nivus"), Drive("cancelled", local(SAT, 10), "HR-V")],
        ),
    ),
    script(
        "nothing_to_cancel_or_reschedule_is_said_so",
        say(
            "quero cancelar o test drive",
            has=["Você não tem nenhum test drive agendado no momento."],
            lacks=["cancelei"],
            intent="cancel",
            drives=[],
        ),
        say(
            "preciso remarcar o test drive",
            has=["Você não tem nenhum test drive agendado", "Quer agendar um?"],
            buttons=["agendar_test_drive"],
            drives=[],
        ),
    ),
    script(
        "remarcar_moves_the_booked_car_not_the_last_one_asked_about",
        say(
            "quero testar o HB20 sexta às 10h",
            actions=[BookTestDrive],
            drives=[Drive("booked", local(FRI, 10), "HB20")],
        ),
        say("tem Corolla?", has=["Toyota Corolla XEi 2.0 2024"], intent="search"),
        say(
            "quero remarcar o test drive",
            has=["Seu test drive está marcado para sexta-feira, 21/11, às 10:00, com o Hyundai HB20"],
            lacks=["Corolla", "Qual carro"],
            actions=[],
            drives=[Drive("booked", local(FRI, 10), "HB20")],
        ),
        say(
            "sábado às 9h",
            has=["Remarquei seu test drive para sábado, 22/11, às 09:00, com o Hyundai HB20"],
            actions=[RescheduleTestDrive],
            drives=[Drive("rescheduled", local(SAT, 9), "HB20")],
        ),
    ),
    script(
        "the_handoff_summary_lists_every_active_booking",
        NIVUS_FRIDAY,
        HRV_SATURDAY,
        say(
            "cancela o do Nivus",
            actions=[CancelTestDrive],
            drives=[Drive("cancelled", local(FRI, 10), "Nivus"), Drive("booked", local(SAT, 10), "HR-V")],
        ),
        say(
            "quero falar com um atendente",
            has=["Um atendente vai falar com você em breve."],
            actions=[Handoff],
            handoff_has=["Test drives agendados: sábado, 22/11, às 10:00, com o Honda HR-V EXL 1.5 2023."],
            intent="handoff",
        ),
    ),
    script(
        "a_booking_over_several_turns_still_works",
        say("vocês têm o corolla 2024?", has=["Toyota Corolla XEi 2.0 2024"], lacks=["Corolla Cross"]),
        say("quero agendar um test drive", has=["test drive do Toyota Corolla XEi 2.0 2024", "Qual dia"]),
        say("domingo", has=["Nesse dia a loja não abre.", "Qual dia"], drives=[]),
        say("sábado", has=["E qual horário para sábado, 22/11? Nesse dia atendemos das 9h às 13h."]),
        say(
            "às 10h",
            has=["agendado para sábado, 22/11, às 10:00"],
            actions=[BookTestDrive],
            drives=[Drive("booked", local(SAT, 10), "Corolla")],
        ),
    ),
)

STORE_FACTS = (
    script(
        "address_hours_phone_and_documents",
        say(
            "onde fica a loja?",
            has=["Estamos na Av. Paulista, 1000, Bela Vista, São Paulo - SP."],
            intent="facts",
        ),
        say("que horas vocês abrem amanhã?", has=["Amanhã (quinta-feira, 20/11) abrimos das 9h às 18h."]),
        say(
            "vocês abrem domingo?",
            has=["Domingo, 23/11, a loja não abre.", "Atendemos de segunda a sexta, das 9h às 18h"],
        ),
        say(
            "qual o horário de funcionamento?",
            has=["Atendemos de segunda a sexta, das 9h às 18h, e aos sábados"],
        ),
        say("qual o telefone de vocês?", has=["Nosso telefone é (11) 3000-0000"]),
        say(
            "quais documentos preciso para comprar?",
            has=["RG ou CNH, CPF, comprovante de residência e comprovante de renda"],
            lacks=["Não entendi"],
        ),
    ),
)

FINANCING_SCRIPTS = (
    script(
        "financing_simulates_the_car_in_context",
        say("tem Corolla?", has=["Toyota Corolla XEi 2.0 2024"]),
        say(
            "dá pra financiar? qual a entrada?",
            has=[
                "Financiamos com Banco Itaú, Santander, BV",
                "Simulação para o Toyota Corolla XEi 2.0 2024 (R$ 139.990,00),"
                f" com entrada de {format_brl(COROLLA_DOWN)}",
                f"60x de {format_brl(FINANCING.installment(COROLLA_PRICE, COROLLA_DOWN, 60))}",
                f"24x de {format_brl(FINANCING.installment(COROLLA_PRICE, COROLLA_DOWN, 24))}",
                "Taxa de 1,69% ao mês",
                "simulação indicativa, sujeita a análise de crédito",
            ],
            buttons=[PERSON],
            intent="financing",
        ),
        say(
            "quero financiar o Onix com entrada de 30 mil",
            has=[
                "Simulação para o Chevrolet Onix LT 1.0 Turbo 2023 (R$ 79.990,00),"
                " com entrada de R$ 30.000,00",
                f"48x de {format_brl(FINANCING.installment(ONIX_PRICE, Decimal(30000), 48))}",
            ],
        ),
        tap(PERSON, "Falar com atendente", actions=[Handoff], handoff_has=["Interesse:", "Onix"]),
    ),
    script(
        "financing_without_a_car_gives_the_conditions_and_asks_which",
        say(
            "vocês financiam?",
            has=["Entrada a partir de 20% do valor e taxa de 1,69% ao mês", "Me diga qual carro"],
            buttons=[PERSON],
        ),
    ),
)

TRADE_IN = (
    script(
        "trade_in_collects_model_year_and_km_then_hands_off",
        say(
            "aceita meu carro na troca?",
            has=[
                "Aceitamos sim seu carro na troca!"
                " Para um consultor avaliar, me conta: qual é o modelo do seu carro"
            ],
            intent="trade_in",
            actions=[],
        ),
        say("é um Gol", has=["De que ano é o seu Gol?"], lacks=["Temos sim"], actions=[]),
        say("2015", has=["Quantos km o seu Gol tem rodados?"], actions=[]),
        say(
            "uns 80 mil km",
            has=["Anotei: Volkswagen Gol 2015, 80.000 km.", "Um consultor vai avaliar seu carro"],
            actions=[Handoff],
            handoff_has=[
                "quer avaliar um carro na troca",
                "Carro para troca: Volkswagen Gol 2015, 80.000 km.",
            ],
        ),
    ),
    script(
        "a_photo_of_my_current_car_starts_a_trade_in_not_a_search",
        photo(
            "esse é o meu carro atual, um Gol 2015",
            has=["Recebi sua foto!", "Anotei: Volkswagen Gol 2015.", "quantos km"],
            lacks=["Temos sim", "R$ 49.990,00"],
            intent="trade_in",
        ),
        say("80000", actions=[Handoff], handoff_has=["Carro para troca: Volkswagen Gol 2015, 80.000 km."]),
    ),
)

INTERRUPTIONS = (
    script(
        "a_question_in_the_middle_of_a_trade_in_is_answered_and_the_car_kept",
        say("aceita meu carro na troca? é um Gol 2015", has=["Anotei: Volkswagen Gol 2015.", "quantos km"]),
        say("quanto custa o Onix?", has=["Chevrolet Onix LT 1.0 Turbo 2023 (prata) está por R$ 79.990,00"]),
        say(
            "o meu tem 90 mil km",
            actions=[Handoff],
            handoff_has=["Carro para troca: Volkswagen Gol 2015, 90.000 km."],
        ),
    ),
    script(
        "a_question_in_the_middle_of_a_reschedule_is_answered_and_nothing_moves",
        NIVUS_FRIDAY,
        say("quero remarcar o test drive", has=["Para qual dia e horário"]),
        say(
            "quanto custa o Onix?",
            has=["R$ 79.990,00"],
            lacks=["Remarquei"],
            drives=[Drive("booked", local(FRI, 10), "Nivus")],
        ),
        say(
            "deixa pra lá, quero desmarcar o test drive",
            has=["cancelei o seu test drive de sexta-feira, 21/11, às 10:00"],
            actions=[CancelTestDrive],
            drives=[Drive("cancelled", local(FRI, 10), "Nivus")],
        ),
    ),
)

STOCK = (
    script(
        "extremes",
        say(
            "qual o carro mais barato?",
            has=["O carro mais barato que temos agora:", "Volkswagen Gol 1.0 MPI 2019", "R$ 49.990,00"],
        ),
        say("e o mais caro?", has=["Toyota SW4 SRX 2.8 diesel 4x4 7 lugares 2022", "R$ 329.990,00"]),
        say("qual o mais novo?", has=["O carro mais novo", "Peugeot 208 Griffe 1.0 Turbo 2024"]),
        say("e o com menos km?", has=["com menos km", "Peugeot 208", "4.900 km"]),
        say(
            "qual o SUV mais barato?",
            has=["O SUV mais barato que temos agora:", "Chevrolet Spin Premier 1.8 7 lugares 2022"],
        ),
        say(
            "quanto custa?",
            has=["O Chevrolet Spin Premier 1.8 7 lugares 2022 (prata) está por R$ 99.990,00."],
        ),
    ),
    script(
        "filters",
        say(
            "tem algum automático até 80 mil?",
            has=[
                "No momento não temos carro automático até R$ 80.000,00",
                "Honda Fit EX 1.5 2020, azul, automático, R$ 84.990,00",
            ],
            lacks=["Onix LT", "km"],
        ),
        say(
            "quero um sedan com até 40 mil km",
            has=[
                "Chevrolet Onix Plus Premier 1.0 Turbo 2022, vermelho, 35.600 km, R$ 89.990,00",
                "Hyundai HB20S",
            ],
            lacks=["Cronos", "Cruze"],
        ),
        say(
            "tem SUV diesel?",
            has=["Toyota SW4 SRX 2.8 diesel 4x4 7 lugares 2022, prata, diesel"],
            lacks=["Hilux"],
        ),
        say("vocês têm algum híbrido?", has=["Toyota Corolla Cross XRX Hybrid 2024, branco, híbrido"]),
        say("e elétrico?", has=["BYD Dolphin EV 95 cv 2024, branco, elétrico, R$ 149.990,00"]),
        say(
            "tem algum branco?",
            has=["Volkswagen Gol 1.0 MPI 2019, branco", "Renault Kwid Zen 1.0 2023, branco"],
            lacks=["prata"],
        ),
        say(
            "preciso de um carro de 7 lugares",
            has=["Chevrolet Spin Premier 1.8 7 lugares 2022, prata, 7 lugares", "Jeep Commander"],
            lacks=["Kwid"],
        ),
        say(
            "tem hatch manual?",
            has=["Volkswagen Gol 1.0 MPI 2019, branco, manual", "Fiat Mobi"],
            lacks=["Polo"],
        ),
        say(
            "carros com menos de 30.000 km até 80 mil",
            has=["Renault Kwid Zen 1.0 2023, branco, 15.200 km, R$ 59.990,00"],
            lacks=["Gol"],
        ),
    ),
    script(
        "comparisons",
        say(
            "qual a diferença entre o HR-V e o Compass?",
            has=[
                "*Honda HR-V EXL 1.5 2023* x *Jeep Compass Longitude 1.3 T270 2022*",
                "• Preço: R$ 154.990,00 x R$ 164.990,00",
                "• Ano: 2023 x 2022",
                "• Quilometragem: 18.200 km x 36.400 km",
                "• Câmbio: automático x automático",
                "• Lugares: 5 x 5",
            ],
            intent="comparison",
        ),
        say(
            "compara o HR-V com o Fastback",
            has=[
                "*Honda HR-V EXL 1.5 2023*: preço R$ 154.990,00",
                "No momento não temos Fiat Fastback para comparar.",
            ],
        ),
    ),
    script(
        "search_price_and_menu_still_work",
        say(
            "oi",
            "tudo bem?",
            "vocês têm o Corolla 2024?",
            has=["Olá, Maria! Tudo ótimo por aqui", "Toyota Corolla XEi 2.0 2024"],
        ),
        say("tem hb20?", has=["Hyundai HB20 Comfort 1.0 2022, prata, R$ 72.990,00"], lacks=["HB20S"]),
        say(
            "quanto custa?",
            has=["O Hyundai HB20 Comfort 1.0 2022 (prata) está por R$ 72.990,00."],
            intent="price",
        ),
        say(
            "asdfgh",
            has=["Não entendi muito bem"],
            intent="menu",
            buttons=["ver_carros", "agendar_test_drive", PERSON],
        ),
        tap("ver_carros", "Ver carros", has=["Alguns carros disponíveis agora:\n• Volkswagen Gol"]),
    ),
)

OPT_OUT = (
    script(
        "opt_out_phrasings",
        say(
            "pode parar de me mandar mensagem",
            actions=[OptOut],
            has=["não vai mais receber mensagens"],
            intent="opt_out",
        ),
        say("oi", actions=[OptIn], has=["Você voltou a receber nossas mensagens"]),
        say("não quero mais receber mensagens", actions=[OptOut]),
        say("tem Corolla?", actions=[OptIn], has=["voltou a receber", "Toyota Corolla XEi 2.0 2024"]),
        say("me tira da lista", actions=[OptOut]),
        say("PARAR", actions=[OptOut]),
        say("olá de novo", actions=[OptIn], has=["Que bom ter você de volta!"]),
        say("Por favor, não me mandem mais mensagens", actions=[OptOut]),
    ),
    script(
        "sentences_that_are_not_opt_out",
        say("não quero parar de receber as ofertas", actions=[]),
        say("pode parar de me mandar foto, já vi", actions=[]),
        say("o Compass para bem? o freio é bom?", actions=[], has=["Jeep Compass"]),
        say("não consigo parar de pensar no compass", actions=[], has=["Jeep Compass"]),
    ),
)

SCRIPTS: tuple[Script, ...] = (
    *TEST_DRIVES,
    *STORE_FACTS,
    *FINANCING_SCRIPTS,
    *TRADE_IN,
    *INTERRUPTIONS,
    *STOCK,
    *OPT_OUT,
)
