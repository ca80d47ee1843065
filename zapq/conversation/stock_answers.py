"""The rule-based engine's answers about the stock: searches, prices, extremes, comparisons, and what we lack.

Each answer lists what the inventory returned, remembers the ids listed in `facts["shown"]` (what "quanto
custa?" and "quero testar" refer to next), and offers the next step.
"""

from __future__ import annotations

import msgspec

from zapq.conversation.answer import Answer
from zapq.conversation.comparison import details, side_by_side
from zapq.conversation.formatting import format_brl, vehicle_line, vehicle_name
from zapq.conversation.inventory import InventoryLookup
from zapq.conversation.reading import BatchReading, MenuChoice, VehicleQuery, search_key
from zapq.conversation.vague_requests import MeaningSearch
from zapq.conversation.vehicle import Vehicle

MAX_LISTED = 3
MAX_INTERESTS = 4
NEXT_STEP_BUTTONS: list[tuple[str, str]] = [
    (MenuChoice.BOOK_TEST_DRIVE, "Agendar test drive"),
    (MenuChoice.TALK_TO_PERSON, "Falar com atendente"),
]
EMPTY_STOCK_TEXT = "No momento estamos sem carros disponíveis. Quer que um atendente fale com você?"
ORDER_WORDS = {
    "cheapest": "mais barato",
    "dearest": "mais caro",
    "newest": "mais novo",
    "least_km": "com menos km",
}
ORDER_DETAILS = {"least_km": ("km",), "newest": ("km",)}


class StockAnswers:
    """Answers from `inventory`, written into an `Answer`."""

    def __init__(self, inventory: InventoryLookup) -> None:
        self.inventory = inventory

    def search_answer(self, reading: BatchReading, answer: Answer) -> None:
        if not reading.queries:
            vehicles = self.inventory.search(limit=MAX_LISTED)
            if not vehicles:
                answer.say(EMPTY_STOCK_TEXT, "search")
                answer.buttons = [NEXT_STEP_BUTTONS[1]]
                return
            answer.facts["shown"] = _ids(vehicles)
            answer.say(
                "Alguns carros disponíveis agora:\n"
                + "\n".join(vehicle_line(vehicle) for vehicle in vehicles)
                + "\n\nMe conta o modelo, a marca ou quanto quer investir"
                ' (ex.: "SUV até 120 mil") que eu procuro para você.',
                "search",
            )
            answer.buttons = list(NEXT_STEP_BUTTONS)
            return
        note_interest(answer.facts, reading.queries)
        found, missing = self.search(reading.queries)
        if not found:
            self.say_not_found(missing[0], answer)
            return
        answer.facts["shown"] = _ids(found)
        shown = _details(reading.queries)
        opener = "Temos sim!" if any(query.model for query in reading.queries) else "Encontrei estas opções:"
        lines = "\n".join(vehicle_line(vehicle, shown) for vehicle in found)
        lacking = "".join(f"\n\nNo momento não temos {query.describe()}." for query in missing)
        follow_up = (
            "Quer agendar um test drive ou saber mais de algum deles?"
            if len(found) > 1
            else "Quer agendar um test drive?"
        )
        answer.say(f"{opener}\n{lines}{lacking}\n\n{follow_up}", "search")
        answer.buttons = list(NEXT_STEP_BUTTONS)

    def described_answer(self, search: MeaningSearch, typed: str, answer: Answer) -> bool:
        """A car asked for by what it should be ('econômico pra família', 'parecido com o Compass').

        False, saying nothing, when the search ranks no car (the stock not embedded yet, say): "we have
        nothing" would not be true.
        """
        ranked = search.hybrid_vehicles(typed, MAX_LISTED)
        found = [vehicle for vehicle_id, _ in ranked if (vehicle := self.inventory.get(vehicle_id))]
        found = [vehicle for vehicle in found if vehicle.status == "available"]
        if not found:
            return False
        answer.facts["shown"] = _ids(found)
        lines = "\n".join(vehicle_line(vehicle) for vehicle in found)
        answer.say(
            f"Pelo que você me contou, estas opções combinam:\n{lines}\n\n"
            "Quer agendar um test drive ou saber mais de algum deles?",
            "search",
        )
        answer.buttons = list(NEXT_STEP_BUTTONS)
        return True

    def extreme_answer(self, reading: BatchReading, answer: Answer) -> None:
        """'qual o carro mais barato?', 'o SUV com menos km': the one car first in that order."""
        assert reading.order is not None
        query = reading.queries[0] if reading.queries else VehicleQuery()
        note_interest(answer.facts, reading.queries)
        found = self.inventory.search(**msgspec.structs.asdict(query), order=reading.order, limit=1)
        if not found:
            self.say_not_found(query, answer)
            return
        vehicle = found[0]
        answer.facts["shown"] = _ids(found)
        what = query.describe().removeprefix("carros da ") if reading.queries else "carro"
        shown = (*_details(reading.queries), *ORDER_DETAILS.get(reading.order, ()))
        answer.say(
            f"O {what} {ORDER_WORDS[reading.order]} que temos agora:\n"
            f"{vehicle_line(vehicle, dict.fromkeys(shown))}\n\nQuer agendar um test drive?",
            "search",
        )
        answer.buttons = list(NEXT_STEP_BUTTONS)

    def price_answer(self, reading: BatchReading, answer: Answer) -> None:
        if reading.queries:
            note_interest(answer.facts, reading.queries)
            found, missing = self.search(reading.queries)
            if not found:
                self.say_not_found(missing[0], answer)
                return
        else:
            found = self.shown_vehicles(answer.facts)
            if not found:
                answer.say(
                    'De qual carro você quer saber o preço? Me diga o modelo (ex.: "quanto custa o Onix?").',
                    "price",
                )
                return
        answer.facts["shown"] = _ids(found)
        if len(found) == 1:
            vehicle = found[0]
            prices = f"O {vehicle_name(vehicle)} ({vehicle.colour}) está por {format_brl(vehicle.price)}."
        else:
            prices = "Os preços que temos:\n" + "\n".join(vehicle_line(vehicle) for vehicle in found)
        answer.say(f"{prices}\n\nQuer agendar um test drive?", "price")
        answer.buttons = list(NEXT_STEP_BUTTONS)

    def comparison_answer(self, models: list[VehicleQuery], answer: Answer) -> None:
        """The cars named, side by side; the ones we lack said so."""
        note_interest(answer.facts, models)
        found: list[Vehicle] = []
        missing: list[VehicleQuery] = []
        for query in models:
            matches = self.search([query])[0]
            if matches:
                found.append(matches[0])
            else:
                missing.append(query)
        if not found:
            self.say_not_found(missing[0], answer)
            answer.intent = "comparison"
            return
        answer.facts["shown"] = _ids(found)
        lacking = "".join(f"\n\nNo momento não temos {query.describe()} para comparar." for query in missing)
        body = (
            f"Comparando:\n{side_by_side(found)}" if len(found) > 1 else f"O que temos:\n{details(found[0])}"
        )
        answer.say(f"{body}{lacking}\n\nQuer agendar um test drive?", "comparison")
        answer.buttons = list(NEXT_STEP_BUTTONS)

    def say_not_found(self, query: VehicleQuery, answer: Answer, question: str = "") -> None:
        alternatives = self.alternatives(query)
        text = f"No momento não temos {query.describe()} disponível."
        if alternatives:
            answer.facts["shown"] = _ids(alternatives)
            lines = "\n".join(vehicle_line(vehicle, query.shown_details()) for vehicle in alternatives)
            text += (
                f" Mas posso te mostrar {'estas opções' if len(alternatives) > 1 else 'esta opção'}:\n{lines}"
            )
        default_question = "Alguma delas te interessa?" if len(alternatives) > 1 else "Te interessa?"
        answer.say(f"{text}\n\n{question or default_question}", answer.intent or "search")
        answer.buttons = list(NEXT_STEP_BUTTONS)

    def search(self, queries: list[VehicleQuery]) -> tuple[list[Vehicle], list[VehicleQuery]]:
        """Up to MAX_LISTED cars matching any query, and the queries that matched nothing."""
        found: list[Vehicle] = []
        missing: list[VehicleQuery] = []
        for query in queries:
            matches = self.inventory.search(**msgspec.structs.asdict(query), limit=MAX_LISTED)
            if query.model:
                # The inventory matches models by prefix; "tem hb20?" means the HB20 when we have one.
                exact = [
                    vehicle for vehicle in matches if search_key(vehicle.model) == search_key(query.model)
                ]
                matches = exact or matches
            if not matches:
                missing.append(query)
            found.extend(vehicle for vehicle in matches if vehicle not in found)
        return found[:MAX_LISTED], missing

    def alternatives(self, query: VehicleQuery) -> list[Vehicle]:
        """The nearest we have: other years, over the budget, the same make, budget, body type, anything."""
        relaxed: list[VehicleQuery] = []
        if query.year and (query.model or query.make):
            relaxed.append(msgspec.structs.replace(query, year=None))
        if query.max_price is not None and query != VehicleQuery(max_price=query.max_price):
            relaxed.append(msgspec.structs.replace(query, max_price=None, year=None))
        if query.model and query.make:
            relaxed.append(VehicleQuery(make=query.make))
        if query.max_price is not None:
            relaxed.append(VehicleQuery(max_price=query.max_price))
        if query.body_type:
            relaxed.append(VehicleQuery(body_type=query.body_type))
        relaxed.append(VehicleQuery())
        for candidate in relaxed:
            if vehicles := self.inventory.search(**msgspec.structs.asdict(candidate), limit=MAX_LISTED):
                return vehicles
        return []

    def shown_vehicles(self, facts: dict[str, str]) -> list[Vehicle]:
        """The cars last listed that are still available: what "quanto custa?" refers to."""
        vehicles = []
        for text in facts.get("shown", "").split(","):
            vehicle = self.inventory.get(int(text)) if text.isdigit() else None
            if vehicle is not None and vehicle.status == "available":
                vehicles.append(vehicle)
        return vehicles


def note_interest(facts: dict[str, str], queries: list[VehicleQuery]) -> None:
    """Remember what the customer asked about (most recent last), for follow-ups and handoffs."""
    if not queries:
        return
    asked = [query.describe() for query in queries]
    earlier = [item for item in facts.get("interest", "").split("; ") if item and item not in asked]
    facts["interest"] = "; ".join([*earlier, *asked][-MAX_INTERESTS:])
    facts["last_search"] = asked[-1]


def _details(queries: list[VehicleQuery]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(detail for query in queries for detail in query.shown_details()))


def _ids(vehicles: list[Vehicle]) -> str:
    return ",".join(str(vehicle.id) for vehicle in vehicles)
