"""Real OpenHTF records: small OpenHTF tests run once per session, their JSON output kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

STATION = "ST-HTF-1"


def _run(path: Path, phases: list[Any], serial: str, **metadata: Any) -> Path:
    import openhtf as htf
    from openhtf.output.callbacks import json_factory

    test = htf.Test(*phases, **metadata)
    test.add_output_callbacks(json_factory.OutputToJSON(str(path), indent=2))
    test.execute(test_start=lambda: serial)
    return path


@pytest.fixture(scope="session")
def openhtf_records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> the JSON file OpenHTF wrote for it."""
    pytest.importorskip("openhtf")
    import openhtf as htf
    from openhtf.util import units

    htf.conf.load(station_id=STATION)
    out = tmp_path_factory.mktemp("openhtf")

    @htf.measures(htf.Measurement("vcc").in_range(3.2, 3.4).with_units(units.VOLT))
    def power_ok(test: Any) -> None:
        test.measurements.vcc = 3.3

    @htf.measures(htf.Measurement("vcc").in_range(3.2, 3.4).with_units(units.VOLT))
    def power_high(test: Any) -> None:
        test.measurements.vcc = 3.61

    @htf.measures(
        htf.Measurement("ripple").in_range(maximum=0.05, marginal_maximum=0.04),
        htf.Measurement("bias").in_range(1.0, 2.0, marginal_minimum=1.2, marginal_maximum=1.8),
    )
    def ripple(test: Any) -> None:
        test.measurements.ripple = 0.045
        test.measurements.bias = 1.5

    @htf.measures(htf.Measurement("response").with_dimensions(units.HERTZ).with_units(units.VOLT))
    def sweep(test: Any) -> None:
        for hz, volts in ((100, 0.5), (1000, 0.75), (10000, 1.25)):
            test.measurements.response[hz] = volts

    def attach(test: Any) -> None:
        test.attach("log.txt", b"hello world", mimetype="text/plain")

    @htf.measures(htf.Measurement("firmware").matches_regex(r"^v\d+\.\d+$"))
    def firmware(test: Any) -> None:
        test.measurements.firmware = "v1.7"

    @htf.measures(htf.Measurement("vcc").in_range(minimum=1).with_units(units.VOLT))
    def rail_check(test: Any) -> None:
        test.measurements.vcc = 5

    def explode(test: Any) -> None:
        raise RuntimeError("fixture jammed")

    records = {
        "pass": _run(out / "pass.json", [power_ok], "SN-PASS", test_name="board"),
        "fail": _run(out / "fail.json", [power_high], "SN-FAIL", test_name="board"),
        "marginal": _run(out / "marginal.json", [ripple], "SN-MARG", test_name="board"),
        "dimensioned": _run(out / "dimensioned.json", [sweep], "SN-DIM", test_name="board"),
        "attachment": _run(out / "attachment.json", [attach], "SN-ATT", test_name="board"),
        "text": _run(out / "text.json", [firmware], "SN-TXT", test_name="board"),
        "multi": _run(
            out / "multi.json", [power_ok, ripple, rail_check], "SN-MULTI", test_name="board"
        ),
        "error": _run(out / "error.json", [explode], "SN-ERR", test_name="board"),
    }
    # A record from a future OpenHTF: unknown fields at the top and in a phase.
    record = json.loads(records["pass"].read_text())
    record["future_field"] = {"shift": "B"}
    record["phases"][-1]["heat_index"] = 7
    future = out / "future.json"
    future.write_text(json.dumps(record))
    records["future"] = future
    return records
