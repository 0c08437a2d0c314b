"""Hand-built emission lines and accountings for the grading, uncertainty, quality and evaluation tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from carbon_efficiency.model import Accounting, EmissionLine, Factor, FactorChoice


def line(
    pointer: str,
    source: str,
    emissions: float,
    *,
    data_source: str = "meter",
    factor_kind: str = "stated",
    factor: float = 1.0,
    choice: FactorChoice | None = None,
) -> EmissionLine:
    """A line of `emissions` tCO₂ (quantity = emissions ÷ factor)."""
    return EmissionLine(
        pointer=pointer,
        source=source,
        description=pointer,
        quantity=emissions / factor,
        quantity_unit="t",
        factor=factor,
        factor_unit="tCO2/t",
        emissions=emissions,
        choice=choice,
        data_source=data_source,
        factor_kind=factor_kind,
    )


def grid_choice(*, expired: bool = False) -> FactorChoice:
    """The East China grid factor of 2023 as a library choice."""
    factor = Factor(
        kind="electricity",
        key="grid:east",
        value=0.55,
        unit="tCO2/MWh",
        year=2023,
        source="MEE/NBS 公告2025年第47号",
        factor_set="test",
        valid_from=date(2025, 1, 1),
        valid_until=date(2025, 12, 31),
    )
    return FactorChoice(
        factor=factor, requested="electricity for 330522, 2025", level="grid", expired=expired
    )


def accounting(
    lines: Sequence[EmissionLine],
    *,
    added_value: float,
    periods: Sequence[str] = ("2025",),
    neutrality_offsets: float = 0.0,
) -> Accounting:
    """An accounting of `lines` as accounting.py would return it."""
    return Accounting(
        periods=tuple(periods),
        lines=tuple(lines),
        added_value=added_value,
        gwp="AR6",
        factor_set="test factors",
        grid_factor_year=2023,
        energy_gj={},
        neutrality_offsets=neutrality_offsets,
    )
