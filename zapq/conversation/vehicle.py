"""A car in stock, as the inventory reads it and the engines describe it.

A leaf, so that writing a car (`formatting`) and finding one (`inventory`, `reading`) need not import
each other.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec


class Vehicle(msgspec.Struct, frozen=True):
    id: int
    make: str
    model: str
    trim_level: str
    year: int
    price: Decimal
    colour: str
    body_type: str
    status: str
    transmission: str = "manual"
    fuel: str = "flex"
    km: int = 0
    seats: int = 5
    description: str = ""
