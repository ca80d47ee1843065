"""The `new_cars` semantic matcher's quality on a labelled set (bench/interest_queries.py).

Every available car of the demo stock arrives after each message; a (message, car) pair is offered
when `semantic_matching.arrivals_wanted` offers it, as the scan would. `precision` counts a car
labelled `never` as a mistake, `strict_precision` also every unlabelled car; `recall` is the share of
`offer` cars offered, `requests_served` the share of requests offered at least one `offer` car.
`not_request_offers` counts offers to messages asking for no car (must be 0).
In memory: the stock's vectors are computed here, no server is started.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import numpy as np

from bench.interest_queries import NOT_REQUESTS, REQUESTS
from bench.support import report
from zapq.conversation.seed import SEED_CARS, StockedCar
from zapq.conversation.vehicle import Vehicle
from zapq.embeddings.index import VehicleSnapshot
from zapq.embeddings.providers import EmbeddingProvider, embed_parts
from zapq.embeddings.texts import vehicle_parts
from zapq.reengagement.matching import Arrival, LeadMessage
from zapq.reengagement.semantic_matching import MATCH_THRESHOLD, arrivals_wanted, car_requests

ASKED_AT = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
ARRIVED_AT = ASKED_AT + dt.timedelta(days=1)


class Quality(msgspec.Struct, frozen=True):
    threshold: float
    precision: float
    strict_precision: float
    recall: float
    offers_per_request: float
    requests_served: float
    not_request_offers: int


def demo_stock(provider: EmbeddingProvider) -> tuple[VehicleSnapshot, dict[int, str]]:
    """The demo stock's available cars, embedded by `provider`, and their stock codes by id."""
    cars = [car for car in SEED_CARS if car.status == "available"]
    vehicles = [_vehicle(number, car) for number, car in enumerate(cars, start=1)]
    vectors = np.vstack([embed_parts(provider, vehicle_parts(vehicle)) for vehicle in vehicles])
    snapshot = VehicleSnapshot(vehicles, vectors, np.ones(len(vehicles), dtype=bool))
    return snapshot, {vehicle.id: car.stock_code for vehicle, car in zip(vehicles, cars, strict=True)}


def _vehicle(number: int, car: StockedCar) -> Vehicle:
    fields = msgspec.structs.asdict(car)
    del fields["stock_code"]
    return Vehicle(id=number, price=Decimal(fields.pop("price_brl")), **fields)


def offered(
    provider: EmbeddingProvider, snapshot: VehicleSnapshot, codes: dict[int, str], text: str, threshold: float
) -> set[str]:
    """The stock codes the matcher offers a lead whose one message is `text`, every car arriving after it."""
    requests = car_requests([LeadMessage(text, ASKED_AT)])
    if not requests:
        return set()
    vectors = provider.embed([request.text for request in requests])  # as stored: not as a query
    arrivals = [Arrival(vehicle, ARRIVED_AT) for vehicle in snapshot.vehicles]
    wanted = arrivals_wanted(snapshot, list(zip(requests, vectors, strict=True)), arrivals, threshold)
    return {codes[arrival.vehicle.id] for arrival in wanted}


def measure(provider: EmbeddingProvider, thresholds: tuple[float, ...] = (MATCH_THRESHOLD,)) -> list[Quality]:
    snapshot, codes = demo_stock(provider)
    found = []
    for threshold in thresholds:
        right = wrong = unlabelled = missed = served = 0
        for request in REQUESTS:
            offers = offered(provider, snapshot, codes, request.text, threshold)
            right += len(offers & request.offer)
            wrong += len(offers & request.never)
            unlabelled += len(offers - request.offer - request.never)
            missed += len(request.offer - offers)
            served += bool(offers & request.offer)
        stray = sum(len(offered(provider, snapshot, codes, text, threshold)) for text in NOT_REQUESTS)
        found.append(
            Quality(
                threshold=threshold,
                precision=round(right / (right + wrong), 3) if right + wrong else 1.0,
                strict_precision=round(right / (right + wrong + unlabelled), 3)
                if right + wrong + unlabelled
                else 1.0,
                recall=round(right / (right + missed), 3),
                offers_per_request=round((right + wrong + unlabelled) / len(REQUESTS), 2),
                requests_served=round(served / len(REQUESTS), 3),
                not_request_offers=stray,
            )
        )
    return found


def main() -> None:
    from zapq.embeddings.local import LocalE5

    for quality in measure(LocalE5(), (MATCH_THRESHOLD - 0.5, MATCH_THRESHOLD, MATCH_THRESHOLD + 0.5)):
        suffix = "" if quality.threshold == MATCH_THRESHOLD else f"_at_{quality.threshold:g}"
        for field in msgspec.structs.fields(Quality)[1:]:
            report(f"interest_{field.name}{suffix}", getattr(quality, field.name))


if __name__ == "__main__":
    main()
