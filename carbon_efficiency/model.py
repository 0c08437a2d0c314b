"""The shared vocabulary of carbon_efficiency: what accounting produces and grading consumes.

Pure data: no I/O, no numpy. `carbon_efficiency.accounting` fills these in from an `activity-data/1`
document; `carbon_efficiency.uncertainty`, `.grading` and `.evaluation` read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal

Severity = Literal["error", "warning"]

# The emission sources of the certificate's `emissionsBySource` (carbon-efficiency-certificate/1).
COMBUSTION: Final = "combustion"
PROCESS: Final = "process"
OTHER_GASES: Final = "otherGases"
PURCHASED_ELECTRICITY: Final = "purchasedElectricity"
PURCHASED_HEAT: Final = "purchasedHeat"
EXPORTED: Final = "exported"
ZERO_CARBON_DEDUCTIONS: Final = "zeroCarbonDeductions"
SOURCES: Final = (
    COMBUSTION,
    PROCESS,
    OTHER_GASES,
    PURCHASED_ELECTRICITY,
    PURCHASED_HEAT,
    EXPORTED,
    ZERO_CARBON_DEDUCTIONS,
)
# Energy carriers of the energy structure (issue 6: coal, oil, gas, electricity, heat, other).
CARRIERS: Final = ("coal", "oil", "gas", "electricity", "heat", "other")


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding of the data checks or of accounting, naming the line it is about (a JSON pointer)."""

    severity: Severity
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"severity": self.severity, "pointer": self.pointer, "message": self.message}


class AccountingError(ValueError):
    """The document cannot be accounted for: the errors, each naming its line."""

    def __init__(self, issues: tuple[Issue, ...] | list[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


@dataclass(frozen=True, slots=True)
class Factor:
    """One row of the factor library, with where it comes from and when it may be used."""

    kind: str
    """fuel | electricity | heat | carbonate | gwp"""
    key: str
    """What it is the factor of: a fuel code, `national`, `grid:east`, `province:33`, `purchased-heat`,
    a carbonate (`CaCO3`), a gas (`CH4`)."""
    value: float
    """tCO₂ per `unit`'s denominator (for a gas: its GWP)."""
    unit: str
    year: int
    """The data year (electricity) or the edition year of the source document."""
    source: str
    factor_set: str
    valid_from: date
    valid_until: date | None
    note: str | None = None
    parameters: dict[str, float] = field(default_factory=dict)
    """How `value` was derived, e.g. {"ncv": 389.31, "carbonContent": 15.3, "oxidation": 0.99}."""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": self.kind,
            "key": self.key,
            "value": self.value,
            "unit": self.unit,
            "year": self.year,
            "source": self.source,
            "factorSet": self.factor_set,
            "validFrom": self.valid_from.isoformat(),
            "validUntil": self.valid_until.isoformat() if self.valid_until else None,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        if self.note:
            body["note"] = self.note
        return body


@dataclass(frozen=True, slots=True)
class FactorChoice:
    """Which factor a look-up chose, for what, and why (the explicit record of the fallback)."""

    factor: Factor
    requested: str
    """What was asked for, e.g. `electricity for region 330522, accounting year 2025`."""
    level: str
    """How specific the chosen row is: fuel | province | grid | national | default."""
    expired: bool = False
    fallback: str | None = None
    """Why a less specific row or an earlier year was used, if one was."""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "requested": self.requested,
            "level": self.level,
            "expired": self.expired,
            "factor": self.factor.to_json(),
        }
        if self.fallback:
            body["fallback"] = self.fallback
        return body


@dataclass(frozen=True, slots=True)
class EmissionLine:
    """One line of an accounting: a document line times its factor, traceable to both."""

    pointer: str
    """The document line, e.g. `/fuels/0` (for a combined period: `2025-03/fuels/0`)."""
    source: str
    """One of SOURCES."""
    description: str
    quantity: float
    """The activity amount in `quantity_unit` after unit conversion (t, 10^4 Nm3, MWh, GJ, t CO₂e…)."""
    quantity_unit: str
    factor: float
    """tCO₂ per unit of quantity (1.0 for lines stated in tCO₂ already)."""
    factor_unit: str
    emissions: float
    """tCO₂, signed: exported energy and zero-carbon deductions are negative."""
    choice: FactorChoice | None
    """The library factor used; None when the document gave its own (measured parameters, an enterprise
    factor, a quantity in tCO₂)."""
    data_source: str
    """The line's dataSource.kind (meter, invoice, estimate…), `evidence` for offsets."""
    factor_kind: str
    """How well the factor is known, for the uncertainty model: fuel-default | fuel-measured |
    electricity-grid | heat-default | carbonate | enterprise-factor | gwp | stated | zero."""
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pointer": self.pointer,
            "source": self.source,
            "description": self.description,
            "quantity": self.quantity,
            "quantityUnit": self.quantity_unit,
            "factor": self.factor,
            "factorUnit": self.factor_unit,
            "emissionsTCo2": self.emissions,
            "dataSource": self.data_source,
            "factorKind": self.factor_kind,
        }
        if self.choice is not None:
            body["factorChoice"] = self.choice.to_json()
        if self.note:
            body["note"] = self.note
        return body


@dataclass(frozen=True, slots=True)
class Accounting:
    """The emissions of one activity-data document (or of several periods combined)."""

    periods: tuple[str, ...]
    """The document periods accounted for, in order (one for a single document)."""
    lines: tuple[EmissionLine, ...]
    added_value: float
    """Industrial added value, 10⁴ CNY (Σ over the periods)."""
    gwp: str
    factor_set: str
    grid_factor_year: int | None
    """The data year of the electricity factor used (the latest one if periods used several)."""
    energy_gj: dict[str, float]
    """Energy consumed by carrier (CARRIERS), GJ; electricity at 3.6 GJ/MWh."""
    neutrality_offsets: float
    """tCO₂ of zero-carbon offsets counted in the neutrality rate (self-generated renewables, green
    certificates, CCER, sinks)."""
    issues: tuple[Issue, ...] = ()
    """Warnings (errors raise AccountingError instead)."""

    @property
    def by_source(self) -> dict[str, float]:
        """Σ emissions per source, every source present (0.0 when none)."""
        totals = dict.fromkeys(SOURCES, 0.0)
        for line in self.lines:
            totals[line.source] += line.emissions
        return totals

    @property
    def gross_emissions(self) -> float:
        """tCO₂ before exported energy and zero-carbon deductions."""
        return sum(line.emissions for line in self.lines if line.emissions > 0)

    @property
    def net_emissions(self) -> float:
        """tCO₂ the intensity is computed from: gross − exported − zero-carbon deductions."""
        return sum(line.emissions for line in self.lines)

    @property
    def neutrality_rate(self) -> float | None:
        """Zero-carbon offsets ÷ gross emissions; None when there are no gross emissions."""
        gross = self.gross_emissions
        return self.neutrality_offsets / gross if gross > 0 else None
