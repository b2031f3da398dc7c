"""Wide CSV: one row per test run of a unit, one column per measurement.

The run columns are those of the long format (``serial``, ``started_at`` required; ``station``,
``ended_at``, ``procedure``, ``operator``, ``outcome``, ``run_id``, ``product``, ``build``);
every other column is a measurement named by its header, an empty cell a measurement not taken.
Units and limits come from a spec file (``CsvOptions(spec=path)``: columns ``name, unit, lsl,
usl``); with it, a value inside its limits passes and one outside fails. Without a spec the
limits are left empty for the service to take from the product's characteristics. A row with a
cell that is not a number is refused whole, naming the column.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from phasegate.domain.enums import Outcome
from phasegate.domain.errors import InvalidInput
from phasegate.ingest.records import (
    MeasurementIn,
    Parsed,
    Rejected,
    TestRunIn,
    excerpt,
)
from phasegate.ingest.tables import Block, CsvOptions, Table, floats, test_run_of

REQUIRED = ("serial", "started_at")
OPTIONAL = ("station", "ended_at", "procedure", "operator", "outcome", "run_id", "product", "build")


@dataclass(frozen=True, slots=True)
class Spec:
    """A measurement's unit and limits, from the spec file."""

    unit: str = ""
    lsl: float | None = None
    usl: float | None = None

    def outcome(self, value: float) -> Outcome:
        if self.lsl is None and self.usl is None:
            return Outcome.UNSET
        low = self.lsl is not None and value < self.lsl
        high = self.usl is not None and value > self.usl
        return Outcome.FAIL if low or high else Outcome.PASS


def read_spec(path: str | Path) -> dict[str, Spec]:
    """The spec file of a wide CSV: ``name, unit, lsl, usl`` per measurement (unit and limits
    may be empty)."""
    name = str(path)
    try:
        table = pacsv.read_csv(
            name,
            convert_options=pacsv.ConvertOptions(
                column_types={k: pa.string() for k in ("name", "unit", "lsl", "usl")},
                strings_can_be_null=False,
            ),
        )
    except FileNotFoundError:
        raise InvalidInput(f"{name}: the spec file does not exist") from None
    except (pa.ArrowInvalid, OSError) as error:
        raise InvalidInput(f"{name}: the spec file cannot be read: {error}") from None
    if "name" not in table.column_names:
        raise InvalidInput(f"{name}: the spec file needs a column 'name' (and unit, lsl, usl)")
    specs: dict[str, Spec] = {}
    rows = table.to_pylist()
    for line, row in enumerate(rows, start=2):
        try:
            lsl, usl = (_limit(row.get(k)) for k in ("lsl", "usl"))
        except ValueError as error:
            raise InvalidInput(f"{name}:{line}: {error}") from None
        specs[str(row["name"]).strip()] = Spec(str(row.get("unit") or "").strip(), lsl, usl)
    return specs


def _limit(cell: str | None) -> float | None:
    if cell is None or not cell.strip():
        return None
    value = float(cell)
    if not math.isfinite(value):
        raise ValueError(f"limit {cell!r} is not a finite number")
    return value


def read_wide(
    stream: BinaryIO, *, name: str, options: CsvOptions | None = None
) -> Iterator[Parsed]:
    """The test runs of a wide CSV, one per row."""
    options = options or CsvOptions()
    table = Table(stream, name=name, options=options)
    columns = table.resolve(REQUIRED, OPTIONAL, "csv-wide")
    taken = set(columns.values()) | {options.column(k) for k in (*REQUIRED, *OPTIONAL)}
    measured = [c for c in table.header if c not in taken]
    if not measured:
        raise InvalidInput(
            f"{name}: the csv-wide format needs one column per measurement besides "
            f"{', '.join(table.header)}"
        )
    specs = read_spec(options.spec) if options.spec is not None else {}
    wanted = {**columns, **{f"m:{c}": c for c in measured}}
    return _runs(table, columns, measured, specs, wanted)


def _runs(
    table: Table,
    columns: dict[str, str],
    measured: list[str],
    specs: dict[str, Spec],
    wanted: dict[str, str],
) -> Iterator[Parsed]:
    for item in table.blocks(wanted):
        if isinstance(item, Rejected):
            yield item
        else:
            yield from _block(table.name, columns, measured, specs, item)


def _block(
    name: str, columns: dict[str, str], measured: list[str], specs: dict[str, Spec], block: Block
) -> Iterator[Parsed]:
    bad = dict(block.bad)
    values: dict[str, list[float | None]] = {}
    for col in measured:
        arr, wrong = floats(block.columns[f"m:{col}"], col)
        values[col] = arr.to_pylist()
        for i, reason in wrong.items():
            bad.setdefault(i, reason)
    text = {k: block.columns[k].to_pylist() for k in columns}
    for i, line in enumerate(block.lines.tolist()):
        where = f"{name}:{line}"
        if i in bad:
            yield Rejected(where, bad[i], excerpt(block.text(i)))
            continue
        measurements = tuple(
            _measurement(col, v, specs.get(col, Spec()))
            for col in measured
            if (v := values[col][i]) is not None
        )
        made = test_run_of(where, {k: v[i] for k, v in text.items()}, columns, measurements)
        yield made if isinstance(made, TestRunIn) else Rejected(where, made, excerpt(block.text(i)))


def _measurement(name: str, value: float, spec: Spec) -> MeasurementIn:
    return MeasurementIn(
        name=name,
        value=value,
        unit=spec.unit,
        lsl=spec.lsl,
        usl=spec.usl,
        outcome=spec.outcome(value),
    )
