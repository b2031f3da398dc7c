"""Subgroup bookkeeping shared by charts and capability: equal sizes as a 2-D array, else ragged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats._checks import FloatArray, IntArray, finite_array, sizes_array

_COLUMN_LOOP_MAX = 32


@dataclass(frozen=True, slots=True, eq=False)
class Groups:
    """Measurements split into consecutive subgroups.

    ``table`` is the (m, n) array when every subgroup has the same size, else ``None`` and the
    values are ``flat`` with subgroup ``i`` at ``flat[starts[i]:starts[i] + sizes[i]]``.
    """

    flat: FloatArray
    sizes: IntArray
    starts: IntArray
    table: FloatArray | None

    @property
    def count(self) -> int:
        return int(self.sizes.shape[0])

    @property
    def equal(self) -> bool:
        return self.table is not None

    def _columns(self) -> list[FloatArray] | None:
        # NumPy reduces a short inner axis slowly; a loop over the (few) columns is ~10x faster
        # and still touches every value once per column in C.
        if self.table is not None and self.table.shape[1] <= _COLUMN_LOOP_MAX:
            return [self.table[:, j] for j in range(self.table.shape[1])]
        return None

    def means(self) -> FloatArray:
        cols = self._columns()
        if cols is not None:
            total = cols[0].copy()
            for col in cols[1:]:
                total += col
            total /= len(cols)
            return total
        if self.table is not None:
            return np.asarray(self.table.mean(axis=1), dtype=np.float64)
        return np.asarray(np.add.reduceat(self.flat, self.starts) / self.sizes, dtype=np.float64)

    def ranges(self) -> FloatArray:
        cols = self._columns()
        if cols is not None:
            high, low = cols[0].copy(), cols[0].copy()
            for col in cols[1:]:
                np.maximum(high, col, out=high)
                np.minimum(low, col, out=low)
            high -= low
            return high
        if self.table is not None:
            return np.asarray(self.table.max(axis=1) - self.table.min(axis=1), dtype=np.float64)
        high = np.maximum.reduceat(self.flat, self.starts)
        return np.asarray(high - np.minimum.reduceat(self.flat, self.starts), dtype=np.float64)

    def stds(self, means: FloatArray | None = None) -> FloatArray:
        """Sample standard deviations (ddof = 1); NaN for a subgroup of one."""
        mu = self.means() if means is None else means
        cols = self._columns()
        if cols is not None:
            ss = np.zeros_like(mu)
            for col in cols:
                dev = col - mu
                dev *= dev
                ss += dev
        elif self.table is not None:
            dev = self.table - mu[:, None]
            ss = np.einsum("ij,ij->i", dev, dev)
        else:
            dev = self.flat - np.repeat(mu, self.sizes)
            ss = np.add.reduceat(dev * dev, self.starts)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.sqrt(ss / (self.sizes - 1)), dtype=np.float64)


def make_groups(name: str, data: ArrayLike, sizes: ArrayLike | None = None) -> Groups:
    """Build :class:`Groups` from a 2-D (m, n) array, or 1-D values plus subgroup sizes."""
    if sizes is None:
        table = finite_array(name, data, ndim=2)
        m, n = table.shape
        sz = np.full(m, n, dtype=np.int64)
        return Groups(table.reshape(-1), sz, np.arange(m, dtype=np.int64) * n, table)
    flat = finite_array(name, data, ndim=1)
    sz = sizes_array("sizes", sizes)
    total = int(sz.sum())
    if total != flat.shape[0]:
        raise invalid(
            "sizes", f"subgroup sizes add up to {total} but there are {flat.shape[0]} values"
        )
    starts = np.zeros(sz.shape[0], dtype=np.int64)
    np.cumsum(sz[:-1], out=starts[1:])
    if np.all(sz == sz[0]):
        return Groups(flat, sz, starts, flat.reshape(sz.shape[0], int(sz[0])))
    return Groups(flat, sz, starts, None)
