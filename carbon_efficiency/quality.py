"""Data-quality ratings: the DQR of the CICES form and a score of an accounting's activity data.

Both use one scale, 1 best … 5 worst, and the same bands (``data/quality.json``, PEF-style): a score up to
1.5 is excellent, up to 2.0 very good, up to 3.0 good, up to 4.0 fair, above that poor.

- `dqr`: the CICES form scores time (TiR), technology (TeR), geography (GeR) and source (SoR)
  representativeness 1 … 5 each; the DQR is their mean.
- `activity_data_quality`: each emission line is scored by its data-source kind (meter 1, invoice 2,
  engineering calculation 3, manual entry 4, estimate 5 …, as the SoR scale reads), and the accounting's
  score is the mean weighted by each line's |emissions|: a rough guess on a line of 10 t matters less than
  a meter on a line of 10,000 t. Kinds scored 4 or worse get a warning with their share of emissions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

from carbon_efficiency.model import EmissionLine

WARN_FROM_SCORE: Final = 4
"""Data-source kinds scored this or worse are named in a warning."""
MAX_WARNING_LENGTH: Final = 300
"""The certificate's limit on one warning."""
_POINTERS_SHOWN: Final = 5


@dataclass(frozen=True, slots=True)
class QualityBand:
    """One band of the 1 … 5 scale."""

    band: str
    """excellent | very-good | good | fair | poor"""
    upper_edge: float | None
    name_zh: str
    name_en: str
    source: str


@dataclass(frozen=True, slots=True)
class DataQuality:
    """The quality of an accounting's activity data."""

    score: float | None
    """1 best … 5 worst, weighted by |emissions|; None when there are no lines."""
    band: str | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Table:
    bands: tuple[QualityBand, ...]
    source_scores: Mapping[str, int]


@cache
def _table() -> _Table:
    document: dict[str, Any] = json.loads(
        resources.files("carbon_efficiency.data").joinpath("quality.json").read_text("utf-8")
    )
    bands = tuple(
        QualityBand(row["band"], row["upperEdge"], row["nameZh"], row["nameEn"], row["source"])
        for row in document["bands"]
    )
    if bands[-1].upper_edge is not None or any(band.upper_edge is None for band in bands[:-1]):
        raise ValueError("data/quality.json/bands: every band but the last has an upper edge")
    scores = {row["kind"]: int(row["score"]) for row in document["dataSources"]}
    for kind, score in scores.items():
        if not 1 <= score <= 5:
            raise ValueError(f"data/quality.json/dataSources: {kind} has score {score}, outside 1 … 5")
    return _Table(bands, scores)


def quality_bands() -> tuple[QualityBand, ...]:
    """The five bands, best first."""
    return _table().bands


def quality_band(score: float) -> QualityBand:
    """The band of a score on the 1 … 5 scale (a score on an edge gets the better band)."""
    if not 1 <= score <= 5:
        raise ValueError(f"data-quality score {score!r}: the scale runs from 1 (best) to 5 (worst)")
    for band in _table().bands:
        if band.upper_edge is None or score <= band.upper_edge:
            return band
    raise AssertionError("the last band has no upper edge")  # checked when the table is read


def dqr(tir: int, ter: int, ger: int, sor: int) -> tuple[float, str]:
    """The CICES data-quality rating: the mean of the four scores (each 1 … 5) and its band."""
    for name, value in (("TiR", tir), ("TeR", ter), ("GeR", ger), ("SoR", sor)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ValueError(f"{name} {value!r}: expected an integer score from 1 (best) to 5 (worst)")
    score = (tir + ter + ger + sor) / 4
    return score, quality_band(score).band


def source_score(kind: str) -> int:
    """The 1 … 5 score of a data-source kind; ValueError for a kind the table does not know."""
    scores = _table().source_scores
    if kind not in scores:
        raise ValueError(f"data source kind {kind!r} has no score (known: {', '.join(sorted(scores))})")
    return scores[kind]


def activity_data_quality(lines: Sequence[EmissionLine]) -> DataQuality:
    """Score the lines' data sources, weighted by |emissions| (plain mean if every line is 0 t), with a
    warning for each kind scored 4 or worse. ValueError names a line whose data-source kind is unknown."""
    if not lines:
        return DataQuality(None, None, ("no emission lines: the activity data cannot be rated",))
    scores = []
    for line in lines:
        try:
            scores.append(source_score(line.data_source))
        except ValueError as error:
            raise ValueError(f"{line.pointer}: {error}") from None
    weights = [abs(line.emissions) for line in lines]
    total = math.fsum(weights)
    if total > 0:
        score = math.fsum(w * s for w, s in zip(weights, scores, strict=True)) / total
    else:
        weights, total = [1.0] * len(lines), float(len(lines))
        score = math.fsum(scores) / total
    warnings = []
    for kind in sorted({line.data_source for line in lines}, key=lambda k: (-source_score(k), k)):
        if source_score(kind) < WARN_FROM_SCORE:
            continue
        chosen = [i for i, line in enumerate(lines) if line.data_source == kind]
        share = math.fsum(weights[i] for i in chosen) / total
        warnings.append(_warning(kind, share, [lines[i].pointer for i in chosen]))
    return DataQuality(score, quality_band(score).band, tuple(warnings))


def _warning(kind: str, share: float, pointers: list[str]) -> str:
    shown = ", ".join(pointers[:_POINTERS_SHOWN])
    if len(pointers) > _POINTERS_SHOWN:
        shown += f" and {len(pointers) - _POINTERS_SHOWN} more"
    text = f"{kind} (score {source_score(kind)} of 5): {share:.1%} of emissions ({shown})"
    return text if len(text) <= MAX_WARNING_LENGTH else text[: MAX_WARNING_LENGTH - 1] + "…"
