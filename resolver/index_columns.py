"""The regional index rows held in memory as columns: numpy arrays and lists of shared strings.

`ColumnBuilder` fills preallocated arrays from the database rows, chunk by chunk (a 6,000,000-row load is
one pass with no per-row Python objects kept but the strings, and those are shared: one object per distinct
prefix or industry). `merge_columns` applies what changed since a load (rows with a higher id) without
reading everything again: a replaced row is found by its handle key's hash and dropped.

Pure: numpy and the standard library only, no database.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from carbon_efficiency.model import CARRIERS

COLUMN_NAMES: Final = (
    "id",
    "handle_key",
    "prefix_key",
    "region",
    "industry",
    "month_start",
    "months",
    "net_emissions_t",
    "gross_emissions_t",
    "added_value_10k_cny",
    *(f"energy_{carrier}_gj" for carrier in CARRIERS),
    "neutrality_offsets_t",
)
"""What one row of the load carries, in this order (`region` as an integer)."""


@dataclass(frozen=True, slots=True)
class IndexColumns:
    """Index rows as columns, in ascending id order; never changed once made (indexes built on it share it).

    `keys` holds the hash of each row's handle key (in this process), how a replaced row is recognised.
    Prefixes are the normalised prefix keys, so they compare equal to those of `official_grades`.
    """

    ids: npt.NDArray[np.int64]
    keys: npt.NDArray[np.int64]
    prefix: list[str]
    region: npt.NDArray[np.int32]
    industry: list[str]
    month_start: npt.NDArray[np.int32]
    months: npt.NDArray[np.int32]
    emissions: npt.NDArray[np.float64]
    """Net emissions, tCO₂."""
    gross: npt.NDArray[np.float64]
    """Gross emissions, tCO₂."""
    added_value: npt.NDArray[np.float64]
    """Industrial added value, 10⁴ CNY."""
    energy: npt.NDArray[np.float64]
    """n × 6 GJ, in `carbon_efficiency.model.CARRIERS` order."""
    offsets: npt.NDArray[np.float64]
    """Zero-carbon offsets counted in the neutrality rate, tCO₂."""

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def last_id(self) -> int:
        """The highest row id held (0 when empty): rows above it are what changed since."""
        return int(self.ids[-1]) if len(self.ids) else 0

    @classmethod
    def empty(cls) -> IndexColumns:
        """No rows."""
        return ColumnBuilder(0).finish()

    def without(self, positions: npt.NDArray[np.intp]) -> IndexColumns:
        """These rows but those at `positions` (ascending)."""
        keep = np.ones(len(self.ids), dtype=bool)
        keep[positions] = False
        return IndexColumns(
            ids=self.ids[keep],
            keys=self.keys[keep],
            prefix=_without(self.prefix, positions),
            region=self.region[keep],
            industry=_without(self.industry, positions),
            month_start=self.month_start[keep],
            months=self.months[keep],
            emissions=self.emissions[keep],
            gross=self.gross[keep],
            added_value=self.added_value[keep],
            energy=self.energy[keep],
            offsets=self.offsets[keep],
        )


def _without(values: list[str], positions: npt.NDArray[np.intp]) -> list[str]:
    # Slices between the positions dropped: a few of millions go at the speed of copying pointers.
    bounds = [-1, *positions.tolist(), len(values)]
    return list(itertools.chain.from_iterable(values[a + 1 : b] for a, b in itertools.pairwise(bounds)))


def merge_columns(base: IndexColumns, changed: IndexColumns) -> IndexColumns:
    """`base` with the rows `changed` holds (all with higher ids) appended, and the rows they replace
    (same handle key) dropped."""
    if not len(changed):
        return base
    kept = base
    if len(base):
        targets = np.sort(changed.keys)
        found = np.searchsorted(targets, base.keys)
        found[found == len(targets)] = 0
        replaced = np.flatnonzero(targets[found] == base.keys)
        if len(replaced):
            kept = base.without(replaced)
    return IndexColumns(
        ids=np.concatenate([kept.ids, changed.ids]),
        keys=np.concatenate([kept.keys, changed.keys]),
        prefix=kept.prefix + changed.prefix,
        region=np.concatenate([kept.region, changed.region]),
        industry=kept.industry + changed.industry,
        month_start=np.concatenate([kept.month_start, changed.month_start]),
        months=np.concatenate([kept.months, changed.months]),
        emissions=np.concatenate([kept.emissions, changed.emissions]),
        gross=np.concatenate([kept.gross, changed.gross]),
        added_value=np.concatenate([kept.added_value, changed.added_value]),
        energy=np.concatenate([kept.energy, changed.energy]),
        offsets=np.concatenate([kept.offsets, changed.offsets]),
    )


class ColumnBuilder:
    """Columns filled from chunks of rows shaped as `COLUMN_NAMES`, into arrays preallocated for `expected`
    rows (grown when more come: another writer may add rows while a load runs)."""

    def __init__(self, expected: int) -> None:
        capacity = max(expected, 0)
        self._size = 0
        self._arrays: dict[str, npt.NDArray[Any]] = {
            name: np.empty(capacity, dtype=dtype) for name, dtype in _ARRAYS.items()
        }
        self._arrays["energy"] = np.empty((capacity, len(CARRIERS)), dtype=np.float64)
        self._prefix: list[str] = []
        self._industry: list[str] = []
        self._strings: dict[str, str] = {}

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append a chunk of rows."""
        count = len(rows)
        if not count:
            return
        start, end = self._size, self._size + count
        arrays = self._arrays
        if end > len(arrays["ids"]):
            capacity = max(end, 2 * len(arrays["ids"]))
            for name, array in arrays.items():
                grown = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
                grown[:start] = array[:start]
                arrays[name] = grown
        columns = list(zip(*rows, strict=True))
        arrays["keys"][start:end] = np.fromiter(map(hash, columns[_HANDLE_KEY]), dtype=np.int64, count=count)
        for name, position in _POSITIONS.items():
            arrays[name][start:end] = columns[position]
        energy = arrays["energy"]
        for carrier, position in enumerate(_ENERGY_POSITIONS):
            energy[start:end, carrier] = columns[position]
        # One string object per distinct prefix or industry, however many rows name it.
        shared = self._strings.setdefault
        prefixes, industries = columns[_PREFIX], columns[_INDUSTRY]
        self._prefix.extend(map(shared, prefixes, prefixes))
        self._industry.extend(map(shared, industries, industries))
        self._size = end

    def finish(self) -> IndexColumns:
        """The columns of every row added."""
        size = self._size
        arrays = {
            name: array if len(array) == size else array[:size].copy() for name, array in self._arrays.items()
        }
        return IndexColumns(prefix=self._prefix, industry=self._industry, **arrays)


_ARRAYS: Final[dict[str, type[np.generic]]] = {
    "ids": np.int64,
    "keys": np.int64,
    "region": np.int32,
    "month_start": np.int32,
    "months": np.int32,
    "emissions": np.float64,
    "gross": np.float64,
    "added_value": np.float64,
    "offsets": np.float64,
}
_FILLED_FROM: Final = {
    "ids": "id",
    "region": "region",
    "month_start": "month_start",
    "months": "months",
    "emissions": "net_emissions_t",
    "gross": "gross_emissions_t",
    "added_value": "added_value_10k_cny",
    "offsets": "neutrality_offsets_t",
}
"""The column each array is filled from."""
_POSITIONS: Final = {name: COLUMN_NAMES.index(column) for name, column in _FILLED_FROM.items()}
_ENERGY_POSITIONS: Final = tuple(COLUMN_NAMES.index(f"energy_{carrier}_gj") for carrier in CARRIERS)
_HANDLE_KEY: Final = COLUMN_NAMES.index("handle_key")
_PREFIX: Final = COLUMN_NAMES.index("prefix_key")
_INDUSTRY: Final = COLUMN_NAMES.index("industry")


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large load allocates millions of row tuples.

    Measured on 6,000,000 rows: the collector, triggered over and over by the row tuples (none of which
    outlive its chunk), made the load 1.6 times slower. Nothing a load makes holds a cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
