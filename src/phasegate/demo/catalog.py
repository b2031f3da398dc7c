"""The fixed part of the demo: who, what and why. The random part lives in ``generator``.

Three air-quality products from one company:

- ``AS1`` AirSense One, a handheld air-quality monitor (PM2.5, CO2, temperature, humidity):
  revisions A (3D printed), B (CNC) and C (soft tooling), a 300-unit pilot run on a 6-station
  line at a contract manufacturer, then a first production run of 5,000 units;
- ``ASW`` AirSense Wall, a wall-mounted CO2 and ventilation controller, now in its pilot run;
- ``ASC`` AirSense Clip, a wearable personal exposure monitor, still in prototype.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from phasegate.demo.records import (
    CharacteristicRec,
    DefectCodeRec,
    LineRec,
    PartnerRec,
    ProductRec,
    RequirementRec,
    Resolution,
    RevisionRec,
    StationRec,
)
from phasegate.domain.enums import (
    FindingCategory,
    FindingStatus,
    PartnerKind,
    Phase,
    Priority,
    RequirementSource,
    RequirementStatus,
    RevisionStatus,
    Severity,
)

D = dt.date
MUST, SHOULD, COULD, WONT = Priority.MUST, Priority.SHOULD, Priority.COULD, Priority.WONT
CUST, MKT, REG = RequirementSource.CUSTOMER, RequirementSource.MARKET, RequirementSource.REGULATORY
INT, ENG, MFG = (
    RequirementSource.INTERNAL,
    RequirementSource.ENGINEERING,
    RequirementSource.MANUFACTURING,
)
VERIFIED, IMPLEMENTED = RequirementStatus.VERIFIED, RequirementStatus.IMPLEMENTED
ACCEPTED, PROPOSED, REJECTED = (
    RequirementStatus.ACCEPTED,
    RequirementStatus.PROPOSED,
    RequirementStatus.REJECTED,
)

PARTNERS = [
    PartnerRec(
        "Formwerk Additive",
        PartnerKind.PROTOTYPE_SHOP,
        ("3d_print", "vacuum_casting"),
        (Phase.PROTOTYPE,),
        "Germany",
        "quotes@formwerk-additive.example",
    ),
    PartnerRec(
        "Keller Precision CNC",
        PartnerKind.PROTOTYPE_SHOP,
        ("cnc", "sheet_metal", "anodising"),
        (Phase.PROTOTYPE,),
        "Germany",
        "m.keller@keller-cnc.example",
    ),
    PartnerRec(
        "Lumen Rapid PCBA",
        PartnerKind.PROTOTYPE_SHOP,
        ("pcb_assembly", "hand_built", "soft_tooling"),
        (Phase.PROTOTYPE, Phase.PILOT),
        "Netherlands",
        "npi@lumen-pcba.example",
    ),
    PartnerRec(
        "Northbridge Electronics Manufacturing",
        PartnerKind.CONTRACT_MANUFACTURER,
        ("pcb_assembly", "injection_molding", "box_build", "functional_test", "calibration"),
        (Phase.PILOT, Phase.PRODUCTION),
        "Czechia",
        "programs@northbridge-ems.example",
    ),
    PartnerRec(
        "Orbis Moulding",
        PartnerKind.SUPPLIER,
        ("injection_molding", "tooling"),
        (Phase.PILOT, Phase.PRODUCTION),
        "Slovakia",
        "tooling@orbis-moulding.example",
    ),
    PartnerRec(
        "Tessera Compliance Lab",
        PartnerKind.TEST_LAB,
        ("emc", "radio", "safety", "ingress_protection"),
        (Phase.PROTOTYPE, Phase.PILOT, Phase.PRODUCTION),
        "Austria",
        "lab@tessera-compliance.example",
    ),
]

LINE_ONE = "Northbridge Line 3"
LINE_WALL = "Northbridge Line 5"
CM = "Northbridge Electronics Manufacturing"

LINES = [
    LineRec(
        LINE_ONE,
        CM,
        "Six-station SMT-to-box line for handheld monitors; calibration in a gas chamber.",
        (
            StationRec("SMT placement", 1, "Pick-and-place, 2 gantries, inline SPI", 1, 40.0),
            StationRec("Reflow & AOI", 2, "10-zone convection reflow oven, 3D AOI", 1, 45.0),
            StationRec("Firmware flash", 3, "Bed-of-nails fixture, SWD programmer", 1, 38.0),
            StationRec(
                "Sensor calibration", 4, "Gas chamber, 400/1000 ppm CO2, PM reference", 1, 62.0
            ),
            StationRec("Final assembly", 5, "Manual bench, torque-limited driver", 1, 48.0),
            StationRec("End-of-line test", 6, "Leak tester, RF shield box, charge test", 1, 52.0),
        ),
    ),
    LineRec(
        LINE_WALL,
        CM,
        "Five-station line for wall-mounted controllers; CO2 calibration in a chamber.",
        (
            StationRec("SMT placement", 1, "Pick-and-place, 1 gantry, inline SPI", 1, 38.0),
            StationRec("Reflow & AOI", 2, "8-zone convection reflow oven, 2D AOI", 1, 44.0),
            StationRec("Firmware flash", 3, "Pogo-pin fixture, SWD programmer", 1, 30.0),
            StationRec("CO2 calibration", 4, "Gas chamber, 400/1000/2000 ppm CO2", 1, 66.0),
            StationRec("Assembly & test", 5, "Manual bench, relay and standby test", 1, 55.0),
        ),
    ),
]

DEFECT_CODES = [
    DefectCodeRec("SMT-PASTE", "Solder paste height out of limits (SPI)", "SMT"),
    DefectCodeRec("SMT-MISSING", "Component missing after placement", "SMT"),
    DefectCodeRec("SMT-SHIFT", "Component shifted or rotated", "SMT"),
    DefectCodeRec("AOI-BRIDGE", "Solder bridge between pins", "Soldering"),
    DefectCodeRec("AOI-TOMB", "Tombstoned chip component", "Soldering"),
    DefectCodeRec("AOI-INSUF", "Insufficient solder joint", "Soldering"),
    DefectCodeRec("FW-FLASH", "Firmware flash or verify failed", "Programming"),
    DefectCodeRec("FW-RAIL", "Supply rail out of tolerance", "Electrical"),
    DefectCodeRec("FW-IQ", "Standby current out of limits", "Electrical"),
    DefectCodeRec("CAL-PM", "PM2.5 sensor outside calibration limits", "Calibration"),
    DefectCodeRec("CAL-CO2", "CO2 sensor outside calibration limits", "Calibration"),
    DefectCodeRec("CAL-TEMP", "Temperature offset outside limits", "Calibration"),
    DefectCodeRec("CAL-RH", "Humidity offset outside limits", "Calibration"),
    DefectCodeRec("CAL-NORESP", "Sensor not responding on the bus", "Calibration"),
    DefectCodeRec("FA-GAP", "Enclosure gap out of limits", "Assembly"),
    DefectCodeRec("FA-BTN", "Button force out of limits", "Assembly"),
    DefectCodeRec("FA-SCREW", "Stripped screw boss", "Assembly"),
    DefectCodeRec("FA-SCRATCH", "Cosmetic scratch on the front cover", "Cosmetic"),
    DefectCodeRec("FA-RELAY", "Relay contact resistance high", "Electrical"),
    DefectCodeRec("FA-FLAT", "Wall plate not flat", "Assembly"),
    DefectCodeRec("EOL-LEAK", "Leak test failed (pressure decay)", "Sealing"),
    DefectCodeRec("EOL-RF", "BLE transmit power out of limits", "Radio"),
    DefectCodeRec("EOL-CHG", "Charge current out of limits", "Electrical"),
    DefectCodeRec("EOL-DISPLAY", "Display pixel defect", "Display"),
    DefectCodeRec("EOL-STANDBY", "Standby power out of limits", "Electrical"),
]

PRODUCTS = [
    ProductRec(
        "AS1",
        "AirSense One",
        "Handheld air-quality monitor: PM2.5, CO2, temperature and humidity on an e-ink "
        "display, Bluetooth LE sync, one week on a charge.",
        42.0,
        180_000,
        D(2026, 2, 2),
    ),
    ProductRec(
        "ASW",
        "AirSense Wall",
        "Wall-mounted CO2 and ventilation controller for offices and classrooms: drives a "
        "ventilation relay from CO2 and humidity, 24 VAC powered, Modbus/RS-485.",
        55.0,
        40_000,
        D(2026, 6, 1),
    ),
    ProductRec(
        "ASC",
        "AirSense Clip",
        "Wearable personal exposure monitor clipped to a bag or collar: PM2.5 and VOC, "
        "logs exposure over the day and syncs to the phone.",
        29.0,
        120_000,
        D(2026, 11, 2),
    ),
]

REVISIONS = [
    RevisionRec(
        "AS1",
        "A",
        "Looks-like/works-like proof of concept: 3D-printed PLA housing, hand-soldered "
        "sensor boards.",
        RevisionStatus.OBSOLETE,
        D(2025, 1, 10),
    ),
    RevisionRec(
        "AS1",
        "B",
        "Engineering prototype: CNC-machined PC/ABS housing, thermally isolated sensor "
        "tongue, separate air inlet and outlet.",
        RevisionStatus.OBSOLETE,
        D(2025, 3, 28),
    ),
    RevisionRec(
        "AS1",
        "C",
        "Design-freeze candidate: soft-tooled housing with silicone gasket, vent slots, "
        "firmware temperature compensation. Released for pilot and production.",
        RevisionStatus.RELEASED,
        D(2025, 6, 20),
    ),
    RevisionRec(
        "ASW",
        "A",
        "Proof of concept in a 3D-printed wall box with an off-the-shelf relay module.",
        RevisionStatus.OBSOLETE,
        D(2025, 6, 2),
    ),
    RevisionRec(
        "ASW",
        "B",
        "Soft-tooled enclosure, integrated relay, ventilated sensor chamber. Released for "
        "the pilot run.",
        RevisionStatus.RELEASED,
        D(2025, 9, 19),
    ),
    RevisionRec(
        "ASC",
        "A",
        "Form study with working electronics: 3D-printed clip housing.",
        RevisionStatus.OBSOLETE,
        D(2025, 11, 3),
    ),
    RevisionRec(
        "ASC",
        "B",
        "CNC-machined housing with a steel spring clip and a smaller battery.",
        RevisionStatus.DRAFT,
        D(2026, 2, 6),
    ),
]


def _req(
    product: str,
    key: str,
    title: str,
    description: str,
    priority: Priority,
    source: RequirementSource,
    status: RequirementStatus,
    rice: tuple[float, float, float, float],
) -> RequirementRec:
    return RequirementRec(product, key, title, description, priority, source, status, rice)


REQUIREMENTS = [
    # AirSense One: every must-have verified before the gate to pilot.
    _req(
        "AS1",
        "AS1-R01",
        "PM2.5 within ±5 µg/m³ at 35 µg/m³",
        "Against a reference monitor in the calibration chamber.",
        MUST,
        MKT,
        VERIFIED,
        (60_000, 3, 0.9, 5),
    ),
    _req(
        "AS1",
        "AS1-R02",
        "CO2 within ±50 ppm at 1000 ppm",
        "NDIR sensor after two-point calibration; matches building-standard guidance.",
        MUST,
        MKT,
        VERIFIED,
        (60_000, 3, 0.9, 4),
    ),
    _req(
        "AS1",
        "AS1-R03",
        "Temperature within ±0.5 °C",
        "At rest, 30 min after power-on, 15–35 °C ambient.",
        MUST,
        CUST,
        VERIFIED,
        (45_000, 2, 0.8, 3),
    ),
    _req(
        "AS1",
        "AS1-R04",
        "Relative humidity within ±3 %RH",
        "20–80 %RH, non-condensing.",
        SHOULD,
        CUST,
        VERIFIED,
        (30_000, 1, 0.8, 2),
    ),
    _req(
        "AS1",
        "AS1-R05",
        "Seven days on one charge",
        "One reading per minute, display refresh every 5 min, BLE sync hourly.",
        MUST,
        CUST,
        VERIFIED,
        (70_000, 3, 0.7, 6),
    ),
    _req(
        "AS1",
        "AS1-R06",
        "USB-C charge to 80 % in under 2 h",
        "With any 5 V / 1 A charger.",
        SHOULD,
        MKT,
        VERIFIED,
        (40_000, 1, 0.9, 2),
    ),
    _req(
        "AS1",
        "AS1-R07",
        "Bluetooth LE sync, radio-certified (CE RED, FCC)",
        "Conducted power within the certified range.",
        MUST,
        REG,
        VERIFIED,
        (80_000, 3, 1.0, 5),
    ),
    _req(
        "AS1",
        "AS1-R08",
        "Splash resistant (IP54)",
        "Verified per unit by a pressure-decay leak test.",
        MUST,
        CUST,
        VERIFIED,
        (35_000, 2, 0.8, 4),
    ),
    _req(
        "AS1",
        "AS1-R09",
        "Even enclosure gaps, at most 0.35 mm",
        "Premium feel; checked at final assembly.",
        SHOULD,
        INT,
        VERIFIED,
        (20_000, 1, 0.7, 2),
    ),
    _req(
        "AS1",
        "AS1-R10",
        "Button press between 2.0 and 3.5 N",
        "Comfortable one-handed use, no accidental presses in a bag.",
        SHOULD,
        CUST,
        VERIFIED,
        (25_000, 1, 0.8, 1),
    ),
    _req(
        "AS1",
        "AS1-R11",
        "Survives 1.2 m drops onto concrete",
        "Six faces, two drops each, fully functional afterwards.",
        MUST,
        CUST,
        VERIFIED,
        (50_000, 2, 0.8, 3),
    ),
    _req(
        "AS1",
        "AS1-R12",
        "Unit cost at most 42 USD at 180k units a year",
        "Material, labour, overhead, scrap and tooling amortisation.",
        MUST,
        INT,
        VERIFIED,
        (180_000, 2, 0.7, 3),
    ),
    _req(
        "AS1",
        "AS1-R13",
        "Builds on a standard SMT line to IPC-A-610 class 2",
        "No selective soldering, no manual rework by design.",
        SHOULD,
        MFG,
        VERIFIED,
        (180_000, 1, 0.9, 2),
    ),
    _req(
        "AS1",
        "AS1-R14",
        "Readable in direct sunlight",
        "E-ink display, no backlight needed outdoors.",
        COULD,
        MKT,
        IMPLEMENTED,
        (15_000, 1, 0.8, 1),
    ),
    _req(
        "AS1",
        "AS1-R15",
        "User-replaceable battery",
        "Asked for by a few testers; conflicts with IP54 and cost.",
        COULD,
        CUST,
        PROPOSED,
        (5_000, 1, 0.5, 5),
    ),
    _req(
        "AS1",
        "AS1-R16",
        "Wi-Fi connectivity",
        "Out of scope for this product; the wall unit covers fixed installations.",
        WONT,
        MKT,
        REJECTED,
        (10_000, 2, 0.5, 8),
    ),
    # AirSense Wall: passed the gate to pilot, so must-haves are verified.
    _req(
        "ASW",
        "ASW-R01",
        "CO2 within ±40 ppm at 1000 ppm",
        "Drives ventilation; accuracy matters more than on the handheld.",
        MUST,
        REG,
        VERIFIED,
        (40_000, 3, 0.9, 4),
    ),
    _req(
        "ASW",
        "ASW-R02",
        "Temperature within ±0.5 °C on a wall",
        "Mounted on an inside wall, 1.5 m high.",
        MUST,
        CUST,
        VERIFIED,
        (40_000, 2, 0.8, 3),
    ),
    _req(
        "ASW",
        "ASW-R03",
        "Relative humidity within ±3 %RH",
        "20–80 %RH.",
        SHOULD,
        CUST,
        VERIFIED,
        (30_000, 1, 0.8, 2),
    ),
    _req(
        "ASW",
        "ASW-R04",
        "Relay switches 230 V / 5 A ventilation loads",
        "Contact resistance below 100 mΩ over life.",
        MUST,
        CUST,
        VERIFIED,
        (40_000, 3, 0.9, 3),
    ),
    _req(
        "ASW",
        "ASW-R05",
        "Standby power under 0.5 W",
        "EU ecodesign limit for networked standby.",
        MUST,
        REG,
        VERIFIED,
        (40_000, 2, 1.0, 3),
    ),
    _req(
        "ASW",
        "ASW-R06",
        "Modbus RTU over RS-485",
        "For building-management systems.",
        SHOULD,
        MKT,
        IMPLEMENTED,
        (25_000, 2, 0.8, 3),
    ),
    _req(
        "ASW",
        "ASW-R07",
        "Flush fit on standard wall boxes",
        "Wall plate flat within 0.5 mm.",
        SHOULD,
        CUST,
        VERIFIED,
        (30_000, 1, 0.8, 2),
    ),
    _req(
        "ASW",
        "ASW-R08",
        "BACnet/IP gateway",
        "Planned for a later release.",
        COULD,
        MKT,
        PROPOSED,
        (8_000, 2, 0.5, 8),
    ),
    # AirSense Clip: still in prototype; nothing verified yet.
    _req(
        "ASC",
        "ASC-R01",
        "PM2.5 within ±8 µg/m³ at 35 µg/m³",
        "Smaller sensor than the handheld; wider tolerance accepted by the market.",
        MUST,
        MKT,
        IMPLEMENTED,
        (50_000, 3, 0.7, 5),
    ),
    _req(
        "ASC",
        "ASC-R02",
        "Weighs at most 45 g",
        "Clipped to a collar without pulling it down.",
        MUST,
        CUST,
        ACCEPTED,
        (50_000, 2, 0.8, 4),
    ),
    _req(
        "ASC",
        "ASC-R03",
        "Three days on one charge",
        "One reading per minute with BLE sync.",
        MUST,
        CUST,
        IMPLEMENTED,
        (50_000, 2, 0.6, 5),
    ),
    _req(
        "ASC",
        "ASC-R04",
        "Clip holds 8–15 N",
        "Stays on a bag strap while walking; opens with one hand.",
        SHOULD,
        CUST,
        ACCEPTED,
        (30_000, 1, 0.6, 2),
    ),
    _req(
        "ASC",
        "ASC-R05",
        "VOC index within ±15 points",
        "Relative indoor-air indicator.",
        SHOULD,
        MKT,
        ACCEPTED,
        (20_000, 1, 0.5, 3),
    ),
    _req(
        "ASC",
        "ASC-R06",
        "Radio-certified Bluetooth LE",
        "Same radio module as the handheld.",
        MUST,
        REG,
        ACCEPTED,
        (50_000, 3, 1.0, 3),
    ),
    _req(
        "ASC",
        "ASC-R07",
        "Vibration alert on high exposure",
        "Requested by asthma-patient testers.",
        COULD,
        CUST,
        PROPOSED,
        (10_000, 2, 0.5, 3),
    ),
]


@dataclass(frozen=True, slots=True)
class Spec:
    """A characteristic and how its process behaves at each stage.

    ``stages`` maps a revision code ("A", "B", "C") or "pilot"/"production" to (mean, sd);
    a stage missing from the map is not measured there. ``resolution`` is the instrument step.
    """

    rec: CharacteristicRec
    resolution: float
    stages: dict[str, tuple[float, float]]
    defect_code: str


def _spec(
    product: str,
    name: str,
    unit: str,
    lsl: float | None,
    usl: float | None,
    target: float | None,
    ctq: bool,
    requirement: str | None,
    line: str | None,
    station: str | None,
    description: str,
    resolution: float,
    defect_code: str,
    **stages: tuple[float, float],
) -> Spec:
    rec = CharacteristicRec(
        product, name, unit, lsl, usl, target, ctq, requirement, line, station, description
    )
    return Spec(rec, resolution, dict(stages), defect_code)


# The production process of AS1: most characteristics capable (Cpk ≈ 1.3–2.2), the CO2 error
# marginal (Cpk ≈ 1.0). The generator adds a PM2.5 shift after a sensor lot change and a slow
# enclosure-gap trend from mould wear during production.
SPECS = [
    _spec("AS1", "Solder paste height", "µm", 100.0, 150.0, 125.0, False, "AS1-R13",
          LINE_ONE, "SMT placement", "SPI mean height over the sensor connector pads.",
          0.1, "SMT-PASTE",
          pilot=(127.0, 5.0), production=(125.5, 4.5)),
    _spec("AS1", "3V3 rail voltage", "V", 3.2, 3.4, 3.3, False, "AS1-R05",
          LINE_ONE, "Firmware flash", "Main supply rail under nominal load.",
          0.001, "FW-RAIL",
          A=(3.28, 0.04), B=(3.295, 0.025), C=(3.301, 0.02),
          pilot=(3.302, 0.019), production=(3.300, 0.018)),
    _spec("AS1", "Standby current", "µA", 20.0, 120.0, 60.0, True, "AS1-R05",
          LINE_ONE, "Firmware flash", "Current from the battery with the display idle.",
          0.1, "FW-IQ",
          A=(182.0, 28.0), B=(96.0, 14.0), C=(64.0, 9.0),
          pilot=(63.0, 9.5), production=(61.5, 9.0)),
    _spec("AS1", "PM2.5 error at 35 µg/m³", "µg/m³", -5.0, 5.0, 0.0, True, "AS1-R01",
          LINE_ONE, "Sensor calibration", "Reading minus the chamber reference.",
          0.01, "CAL-PM",
          A=(3.6, 2.4), B=(1.3, 1.5), C=(0.3, 1.0),
          pilot=(0.4, 1.05), production=(0.1, 0.95)),
    _spec("AS1", "CO2 error at 1000 ppm", "ppm", -50.0, 50.0, 0.0, True, "AS1-R02",
          LINE_ONE, "Sensor calibration", "Reading minus the reference gas after calibration.",
          0.1, "CAL-CO2",
          A=(26.0, 28.0), B=(12.0, 19.0), C=(5.0, 11.0),
          pilot=(5.0, 13.0), production=(7.0, 14.0)),
    _spec("AS1", "Temperature offset", "°C", -0.5, 0.5, 0.0, True, "AS1-R03",
          LINE_ONE, "Sensor calibration", "Reading minus the chamber reference at rest.",
          0.001, "CAL-TEMP",
          A=(1.9, 0.3), B=(0.62, 0.18), C=(0.05, 0.1),
          pilot=(0.06, 0.115), production=(0.03, 0.11)),
    _spec("AS1", "Relative humidity offset", "%RH", -3.0, 3.0, 0.0, False, "AS1-R04",
          LINE_ONE, "Sensor calibration", "Reading minus the chamber reference.",
          0.01, "CAL-RH",
          A=(-2.6, 1.4), B=(-0.9, 0.9), C=(-0.2, 0.7),
          pilot=(-0.25, 0.72), production=(-0.15, 0.68)),
    _spec("AS1", "Enclosure gap", "mm", 0.05, 0.35, 0.2, False, "AS1-R09",
          LINE_ONE, "Final assembly", "Largest gap between front and back cover (feeler gauge).",
          0.005, "FA-GAP",
          A=(0.46, 0.1), B=(0.27, 0.06), C=(0.21, 0.035),
          pilot=(0.205, 0.036), production=(0.195, 0.033)),
    _spec("AS1", "Button actuation force", "N", 2.0, 3.5, 2.7, False, "AS1-R10",
          LINE_ONE, "Final assembly", "Peak force to actuate the front button.",
          0.01, "FA-BTN",
          A=(4.1, 0.35), B=(3.05, 0.22), C=(2.75, 0.17),
          pilot=(2.74, 0.18), production=(2.72, 0.17)),
    _spec("AS1", "Battery charge current", "mA", 450.0, 550.0, 500.0, False, "AS1-R06",
          LINE_ONE, "End-of-line test", "Constant-current phase at 25 °C.",
          0.1, "EOL-CHG",
          A=(478.0, 24.0), B=(494.0, 15.0), C=(499.0, 12.0),
          pilot=(501.0, 12.5), production=(500.0, 12.0)),
    _spec("AS1", "BLE transmit power", "dBm", 0.0, 8.0, 4.0, True, "AS1-R07",
          LINE_ONE, "End-of-line test", "Conducted power in the RF shield box, channel 19.",
          0.01, "EOL-RF",
          A=(2.1, 1.2), B=(3.6, 0.8), C=(4.1, 0.6),
          pilot=(4.05, 0.62), production=(4.0, 0.6)),
    _spec("AS1", "Leak test pressure decay", "Pa/min", None, 40.0, None, True, "AS1-R08",
          LINE_ONE, "End-of-line test", "Pressure decay at 5 kPa over 20 s (IP54 screen).",
          0.1, "EOL-LEAK",
          A=(86.0, 24.0), B=(29.0, 9.0), C=(15.0, 4.5),
          pilot=(14.5, 4.6), production=(14.0, 4.2)),
    # AirSense Wall
    _spec("ASW", "Solder paste height", "µm", 100.0, 150.0, 125.0, False, None,
          LINE_WALL, "SMT placement", "SPI mean height over the relay pads.",
          0.1, "SMT-PASTE",
          pilot=(124.0, 5.2)),
    _spec("ASW", "5V0 rail voltage", "V", 4.85, 5.15, 5.0, False, "ASW-R05",
          LINE_WALL, "Firmware flash", "Logic supply from the 24 VAC converter.",
          0.001, "FW-RAIL",
          A=(4.96, 0.05), B=(4.995, 0.03), pilot=(5.002, 0.028)),
    _spec("ASW", "CO2 error at 1000 ppm", "ppm", -40.0, 40.0, 0.0, True, "ASW-R01",
          LINE_WALL, "CO2 calibration", "Reading minus the reference gas after calibration.",
          0.1, "CAL-CO2",
          A=(21.0, 18.0), B=(4.0, 9.0), pilot=(3.0, 9.5)),
    _spec("ASW", "Temperature offset", "°C", -0.5, 0.5, 0.0, True, "ASW-R02",
          LINE_WALL, "CO2 calibration", "Reading minus the chamber reference at rest.",
          0.001, "CAL-TEMP",
          A=(1.1, 0.25), B=(0.08, 0.12), pilot=(0.07, 0.12)),
    _spec("ASW", "Relative humidity offset", "%RH", -3.0, 3.0, 0.0, False, "ASW-R03",
          LINE_WALL, "CO2 calibration", "Reading minus the chamber reference.",
          0.01, "CAL-RH",
          A=(-1.8, 1.1), B=(-0.3, 0.75), pilot=(-0.2, 0.7)),
    _spec("ASW", "Relay contact resistance", "mΩ", None, 100.0, None, False, "ASW-R04",
          LINE_WALL, "Assembly & test", "Four-wire measurement at 1 A.",
          0.1, "FA-RELAY",
          A=(58.0, 14.0), B=(42.0, 9.0), pilot=(41.0, 9.5)),
    _spec("ASW", "Standby power", "mW", None, 500.0, None, True, "ASW-R05",
          LINE_WALL, "Assembly & test", "Input power at 24 VAC with the relay open.",
          1.0, "EOL-STANDBY",
          A=(540.0, 40.0), B=(395.0, 25.0), pilot=(390.0, 26.0)),
    _spec("ASW", "Wall plate flatness", "mm", 0.0, 0.5, 0.15, False, "ASW-R07",
          LINE_WALL, "Assembly & test", "Flatness of the mounting face on a surface plate.",
          0.01, "FA-FLAT",
          A=(0.42, 0.12), B=(0.17, 0.06), pilot=(0.16, 0.055)),
    # AirSense Clip: bench tests only, no line yet.
    _spec("ASC", "PM2.5 error at 35 µg/m³", "µg/m³", -8.0, 8.0, 0.0, True, "ASC-R01",
          None, None, "Reading minus a reference monitor in the lab chamber.",
          0.01, "CAL-PM",
          A=(5.2, 3.1), B=(1.9, 2.2)),
    _spec("ASC", "VOC index deviation", "points", -15.0, 15.0, 0.0, False, "ASC-R05",
          None, None, "Index minus the reference in a 200 ppb ethanol step.",
          1.0, "CAL-PM",
          A=(9.0, 8.0), B=(4.0, 6.0)),
    _spec("ASC", "Standby current", "µA", 10.0, 80.0, 35.0, True, "ASC-R03",
          None, None, "Current from the battery with BLE advertising every 2 s.",
          0.1, "FW-IQ",
          A=(96.0, 15.0), B=(52.0, 9.0)),
    _spec("ASC", "Weight", "g", None, 45.0, None, True, "ASC-R02",
          None, None, "Complete device with clip and battery.",
          0.1, "FA-GAP",
          A=(51.5, 1.4), B=(44.1, 0.8)),
    _spec("ASC", "Clip retention force", "N", 8.0, 15.0, 11.5, False, "ASC-R04",
          None, None, "Force to pull the clip off a 3 mm strap.",
          0.01, "FA-BTN",
          A=(6.4, 1.6), B=(10.8, 1.2)),
    _spec("ASC", "BLE transmit power", "dBm", 0.0, 8.0, 4.0, True, "ASC-R06",
          None, None, "Conducted power in the RF shield box, channel 19.",
          0.01, "EOL-RF",
          A=(2.6, 1.1), B=(3.8, 0.7)),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class FindingText:
    ref: str
    revision: str
    title: str
    description: str
    category: FindingCategory
    severity: Severity
    owner: str
    opened_days: int  # after the build ended
    resolution: Resolution | None
    closed_days: int = 0  # after the build ended


F, C = FindingCategory, Severity
DESIGN, MATERIAL, MFG_CH = F.DESIGN_FLAW, F.MATERIAL_WEAKNESS, F.MANUFACTURING_CHALLENGE
CLOSED, VERIFIED_F, INVESTIGATING = (
    FindingStatus.CLOSED,
    FindingStatus.VERIFIED,
    (FindingStatus.INVESTIGATING),
)


def _fixed(
    root: str, action: str, fixed_in: str | None, status: FindingStatus = CLOSED
) -> Resolution:
    # closed_on is filled in by the generator from the fixing build's dates.
    return Resolution(status, root, action, fixed_in, None)


# Findings by build: many on A, fewer on B, a few minor ones on C; then the pilot and
# production runs teach their own lessons. Most are fixed in the next revision.
FINDINGS: dict[str, list[FindingText]] = {
    "AS1-A": [
        FindingText(
            "as1-a-heat",
            "A",
            "Temperature reads 1.9 °C high",
            "All five units read high at rest; worst right after a display refresh.",
            DESIGN,
            C.CRITICAL,
            "Lena Moreau",
            4,
            _fixed(
                "Sensor sits 6 mm from the LDO regulator on a shared copper pour; "
                "self-heating reaches it within minutes.",
                "Sensor moved to a slotted PCB tongue, regulator moved to the far "
                "edge, copper pour split.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-recirc",
            "A",
            "PM2.5 over-reads by about 3.5 µg/m³",
            "Readings drift up over 20 min in still air.",
            DESIGN,
            C.MAJOR,
            "Lena Moreau",
            6,
            _fixed(
                "Fan exhaust recirculates into the PM inlet inside the housing.",
                "Inlet and outlet on opposite faces with an internal baffle.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-porous",
            "A",
            "Housing fails the leak test",
            "Pressure decay 60–120 Pa/min; water ingress after a 5 min spray.",
            MATERIAL,
            C.MAJOR,
            "Tomasz Nowak",
            5,
            _fixed(
                "FDM-printed PLA walls are porous between layers.",
                "Machined PC/ABS housing with a TPE gasket.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-warp",
            "A",
            "Housing warps near the USB-C port at 45 °C",
            "After 48 h in the climate chamber the port sits 0.6 mm off the opening.",
            MATERIAL,
            C.CRITICAL,
            "Tomasz Nowak",
            9,
            _fixed(
                "PLA softens from 50 °C; thin wall around the port opening.",
                "PC/ABS housing, wall thickened to 1.8 mm, rib behind the port.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-sleep",
            "A",
            "Standby current 180 µA, battery lasts 3 days",
            "Measured on all units with the display idle.",
            DESIGN,
            C.MAJOR,
            "Arjun Mehta",
            3,
            _fixed(
                "The sensor supply rail stays on in sleep.",
                "Load switch on the sensor rail; firmware powers it per reading.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-ble",
            "A",
            "Bluetooth range only about 4 m",
            "Conducted power 2 dBm, several units below 1 dBm.",
            DESIGN,
            C.MAJOR,
            "Arjun Mehta",
            7,
            _fixed(
                "The battery detunes the chip antenna.",
                "Battery moved 8 mm away, matching network re-tuned.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-snap",
            "A",
            "Snap-fit hooks crack when opened a third time",
            "Testers opened the housing to reach the reset pin.",
            MATERIAL,
            C.MAJOR,
            "Tomasz Nowak",
            10,
            _fixed(
                "Printed hooks are brittle across layer lines.",
                "Four M2 screws into heat-set bosses instead of snap-fits.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-button",
            "A",
            "Button too stiff (about 4 N)",
            "Testers needed two hands to press it.",
            F.USABILITY,
            C.MINOR,
            "Sofia Lindqvist",
            8,
            _fixed("Metal dome rated 3.9 N.", "Dome changed to 2.6 N.", "B"),
        ),
        FindingText(
            "as1-a-usb",
            "A",
            "USB-C plug hard to seat with thick cables",
            "Over-moulded plugs hit the housing edge.",
            F.USABILITY,
            C.MINOR,
            "Sofia Lindqvist",
            8,
            _fixed(
                "Port recessed 2.5 mm behind the housing face.",
                "Recess reduced to 0.8 mm with a chamfer.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-ghost",
            "A",
            "E-ink ghosting after partial refresh",
            "Old digits stay faintly visible.",
            DESIGN,
            C.MINOR,
            "Arjun Mehta",
            6,
            _fixed(
                "Partial-refresh waveform not tuned for low temperature.",
                "Full refresh every tenth update; new waveform table.",
                "B",
            ),
        ),
        FindingText(
            "as1-a-cell",
            "A",
            "Battery cell swells when charged at 45 °C",
            "One cell swelled 0.4 mm in the hot-charge test.",
            DESIGN,
            C.MAJOR,
            "Arjun Mehta",
            12,
            _fixed(
                "Charger has no temperature derating.",
                "NTC on the cell; charge current derated above 40 °C.",
                "B",
            ),
        ),
    ],
    "AS1-B": [
        FindingText(
            "as1-b-offset",
            "B",
            "Residual temperature offset of +0.6 °C",
            "Better than A, still outside ±0.5 °C on 7 of 10 units.",
            DESIGN,
            C.MAJOR,
            "Lena Moreau",
            5,
            _fixed(
                "Warm air from the electronics pools around the sensor tongue.",
                "Vent slots beside the tongue and a firmware compensation from the "
                "MCU die temperature.",
                "C",
            ),
        ),
        FindingText(
            "as1-b-gasket",
            "B",
            "TPE gasket takes a set after thermal cycling",
            "Leak rate doubles after 100 cycles from −10 to 50 °C.",
            MATERIAL,
            C.MAJOR,
            "Tomasz Nowak",
            14,
            _fixed(
                "TPE compression set too high above 40 °C.", "Silicone gasket, 40 Shore A.", "C"
            ),
        ),
        FindingText(
            "as1-b-scratch",
            "B",
            "Machined surfaces scratch easily",
            "Keys in a pocket leave visible marks within a week.",
            MATERIAL,
            C.MINOR,
            "Sofia Lindqvist",
            20,
            _fixed(
                "Bare PC/ABS with a fine machined finish.",
                "Moulded-in texture MT-11020 on the production tool.",
                "C",
            ),
        ),
        FindingText(
            "as1-b-cal",
            "B",
            "Calibration takes six minutes per unit in the lab",
            "Single-point CO2 calibration waits for the chamber to settle each time.",
            MFG_CH,
            C.MAJOR,
            "Daniel Okafor",
            10,
            _fixed(
                "Sequential gas steps with long settle times.",
                "Two-point calibration in a chamber holding the unit in a fixture; "
                "settle time cut to 40 s.",
                "C",
            ),
        ),
        FindingText(
            "as1-b-boss",
            "B",
            "Screw boss too close to the battery connector",
            "Driver bit touches the connector during assembly.",
            MFG_CH,
            C.MINOR,
            "Daniel Okafor",
            9,
            _fixed("Boss placed for the old battery position.", "Boss moved 3 mm outward.", "C"),
        ),
    ],
    "AS1-C": [
        FindingText(
            "as1-c-led",
            "C",
            "Green status LED dimmer than the red one",
            "Visible only in daylight; testers noticed it.",
            F.QUALITY,
            C.MINOR,
            "Sofia Lindqvist",
            6,
            _fixed(
                "LED brightness bins not specified.",
                "Brightness bin specified on the BOM; series resistor adjusted.",
                None,
            ),
        ),
        FindingText(
            "as1-c-label",
            "C",
            "Rating label lifts on the textured back cover",
            "Corners peel after a week of pocket use.",
            MFG_CH,
            C.MINOR,
            "Daniel Okafor",
            9,
            _fixed(
                "Acrylic adhesive does not wet the texture.",
                "Label moved to a smooth recessed pad; rubber-based adhesive.",
                None,
            ),
        ),
        FindingText(
            "as1-c-settle",
            "C",
            "CO2 reading settles slowly after power-on",
            "Takes 3 min to settle within 50 ppm.",
            DESIGN,
            C.MINOR,
            "Arjun Mehta",
            12,
            _fixed(
                "Sensor warm-up not reflected in the filter.",
                "Firmware shows 'warming up' and uses a faster filter for 3 min.",
                None,
                VERIFIED_F,
            ),
        ),
    ],
    "AS1-PLT": [
        FindingText(
            "as1-p-bottleneck",
            "C",
            "Sensor calibration is the line bottleneck",
            "Mean about 74 s against 62 s planned; units queue in front of the chamber.",
            MFG_CH,
            C.MAJOR,
            "Daniel Okafor",
            2,
            _fixed(
                "Gas settle time longer in the production chamber than in the lab.",
                "Chamber purge valve enlarged; settle detection from the sensor "
                "slope instead of a fixed wait.",
                None,
            ),
        ),
        FindingText(
            "as1-p-strip",
            "C",
            "Screw bosses strip at final assembly",
            "Operators over-torque with the pneumatic driver.",
            MFG_CH,
            C.MINOR,
            "Daniel Okafor",
            3,
            _fixed(
                "Driver set to 0.6 N·m; the boss holds 0.45 N·m.",
                "Torque-limited electric driver at 0.35 N·m.",
                None,
            ),
        ),
        FindingText(
            "as1-p-aoi",
            "C",
            "AOI false calls on 0402 resistors",
            "About a third of AOI stops were false calls.",
            F.QUALITY,
            C.MINOR,
            "Mei Chen",
            4,
            _fixed(
                "AOI library from a different resistor vendor.",
                "Library re-taught with the approved vendor's parts.",
                None,
            ),
        ),
        FindingText(
            "as1-p-co2",
            "C",
            "CO2 error capability marginal (Cpk about 1.1)",
            "Mean offset +5 ppm, spread close to the tolerance.",
            F.QUALITY,
            C.MAJOR,
            "Mei Chen",
            8,
            None,
        ),
    ],
    "AS1-PR1": [
        FindingText(
            "as1-pr-pmlot",
            "C",
            "PM2.5 error shifted after a sensor lot change",
            "Mean moved from about 0.1 to 1.4 µg/m³ from serial AS1-PR1-03201 on.",
            F.SUPPLY,
            C.MAJOR,
            "Mei Chen",
            3,
            Resolution(
                INVESTIGATING,
                "New sensor lot with a different factory calibration.",
                "",
                None,
                None,
            ),
        ),
        FindingText(
            "as1-pr-gap",
            "C",
            "Enclosure gap creeping upwards",
            "Trend over the run; still inside the limits.",
            F.QUALITY,
            C.MINOR,
            "Mei Chen",
            5,
            None,
        ),
    ],
    "ASW-A": [
        FindingText(
            "asw-a-heat",
            "A",
            "Temperature reads 1.1 °C high on the wall",
            "Relay coil and converter heat the sensor chamber.",
            DESIGN,
            C.CRITICAL,
            "Lena Moreau",
            5,
            _fixed(
                "Sensor shares the chamber with the 24 VAC converter.",
                "Separate ventilated sensor chamber at the bottom of the housing.",
                "B",
            ),
        ),
        FindingText(
            "asw-a-standby",
            "A",
            "Standby power 540 mW, above the ecodesign limit",
            "Converter runs in continuous mode at light load.",
            DESIGN,
            C.MAJOR,
            "Arjun Mehta",
            7,
            _fixed(
                "Converter without burst mode.",
                "Converter with burst mode; display off after 30 s.",
                "B",
            ),
        ),
        FindingText(
            "asw-a-warp",
            "A",
            "Printed wall plate bows 0.4 mm",
            "Rocks on the wall box and leaves a gap at the top.",
            MATERIAL,
            C.MAJOR,
            "Tomasz Nowak",
            6,
            _fixed("Printed plate bows as it cools.", "Soft-tooled PC plate with ribs.", "B"),
        ),
        FindingText(
            "asw-a-relay",
            "A",
            "Off-the-shelf relay module does not fit",
            "Module needs a second board and hand wiring.",
            MFG_CH,
            C.MAJOR,
            "Daniel Okafor",
            4,
            _fixed(
                "Concept used a hobby relay module.", "Relay integrated on the main board.", "B"
            ),
        ),
    ],
    "ASW-B": [
        FindingText(
            "asw-b-co2",
            "B",
            "CO2 calibration spread larger at 2000 ppm",
            "Within limits at 1000 ppm, spread doubles at 2000 ppm.",
            DESIGN,
            C.MINOR,
            "Lena Moreau",
            8,
            _fixed(
                "Single-point calibration.", "Three-point calibration at 400/1000/2000 ppm.", None
            ),
        ),
        FindingText(
            "asw-b-terminal",
            "B",
            "Screw terminals hard to reach when mounted",
            "Electricians asked for a removable terminal block.",
            F.USABILITY,
            C.MINOR,
            "Sofia Lindqvist",
            12,
            _fixed("Fixed terminal block at the back.", "Pluggable terminal block.", None),
        ),
    ],
    "ASW-PLT": [
        FindingText(
            "asw-p-relay",
            "B",
            "Relay contact resistance drifts on some units",
            "A few units above 70 mΩ after the burn-in.",
            F.QUALITY,
            C.MINOR,
            "Mei Chen",
            2,
            None,
        ),
    ],
    "ASC-A": [
        FindingText(
            "asc-a-weight",
            "A",
            "Too heavy: 51 g with the clip",
            "Pulls a shirt collar down; testers wore it on bags instead.",
            DESIGN,
            C.MAJOR,
            "Lena Moreau",
            4,
            _fixed(
                "Battery oversized for a three-day target.",
                "Smaller 300 mAh cell, thinner walls in CNC housing.",
                "B",
            ),
        ),
        FindingText(
            "asc-a-clip",
            "A",
            "Printed clip snaps after a few days",
            "Three of five clips broke at the hinge.",
            MATERIAL,
            C.CRITICAL,
            "Tomasz Nowak",
            6,
            _fixed(
                "Printed hinge too thin and brittle across layers.",
                "Stainless steel spring clip.",
                "B",
            ),
        ),
        FindingText(
            "asc-a-pm",
            "A",
            "PM2.5 over-reads in motion",
            "Walking pushes air through the inlet and the reading jumps.",
            DESIGN,
            C.MAJOR,
            "Lena Moreau",
            9,
            _fixed("Inlet faces forward.", "Inlet moved to the side with a labyrinth.", "B"),
        ),
        FindingText(
            "asc-a-standby",
            "A",
            "Standby current near 100 µA",
            "Battery lasts under two days.",
            DESIGN,
            C.MAJOR,
            "Arjun Mehta",
            5,
            _fixed(
                "BLE advertising every 100 ms.", "Advertising every 2 s; sensor duty-cycled.", "B"
            ),
        ),
        FindingText(
            "asc-a-vent",
            "A",
            "VOC sensor saturates near the skin",
            "Readings high when worn under a jacket.",
            DESIGN,
            C.MINOR,
            "Lena Moreau",
            10,
            None,
        ),
    ],
    "ASC-B": [
        FindingText(
            "asc-b-weight",
            "B",
            "Weight at the 45 g limit",
            "Half the units weigh 44–45 g; no margin left.",
            DESIGN,
            C.MAJOR,
            "Tomasz Nowak",
            3,
            None,
        ),
        FindingText(
            "asc-b-anod",
            "B",
            "Anodised edges chip on the clip side",
            "Visible after two weeks of daily use.",
            MATERIAL,
            C.MINOR,
            "Tomasz Nowak",
            5,
            None,
        ),
    ],
}

# Feedback per revision: (requirement key, finding ref, text, base rating). The generator adds
# small random variations of the rating; authors and dates come from the generator.
FEEDBACK: dict[tuple[str, str], list[tuple[str | None, str | None, str, int]]] = {
    ("AS1", "A"): [
        ("AS1-R03", "as1-a-heat", "Temperature is always two degrees above my thermostat.", 2),
        ("AS1-R01", "as1-a-recirc", "PM value climbs in a closed room even without cooking.", 2),
        ("AS1-R05", "as1-a-sleep", "Had to charge it every third day.", 2),
        ("AS1-R10", "as1-a-button", "The button is really hard to press.", 3),
        ("AS1-R07", "as1-a-ble", "App loses the connection in the next room.", 2),
        ("AS1-R08", "as1-a-porous", "Got rained on briefly and the display fogged.", 1),
        (None, None, "Love the idea; the size fits a jacket pocket.", 4),
        ("AS1-R14", None, "Display is easy to read outdoors.", 4),
    ],
    ("AS1", "B"): [
        ("AS1-R03", "as1-b-offset", "Temperature closer now, still a bit warm.", 3),
        ("AS1-R05", None, "A full week on a charge, great.", 4),
        ("AS1-R10", None, "Button feels right now.", 4),
        ("AS1-R07", None, "Sync works across the flat.", 4),
        ("AS1-R09", "as1-b-scratch", "Case scratched quickly in my bag.", 3),
        ("AS1-R01", None, "PM readings match the city station on most days.", 4),
        ("AS1-R08", "as1-b-gasket", "Survived the rain, but the seal looks squashed.", 3),
        (None, None, "Feels solid; a bit heavy.", 3),
        ("AS1-R02", None, "CO2 tracks opening the window nicely.", 4),
        ("AS1-R06", None, "Charges fast enough overnight and in the morning.", 3),
    ],
    ("AS1", "C"): [
        ("AS1-R03", None, "Temperature agrees with my thermometer.", 5),
        ("AS1-R01", None, "PM2.5 matches my reference monitor within a couple of units.", 4),
        ("AS1-R02", "as1-c-settle", "CO2 takes a few minutes after switching on.", 4),
        ("AS1-R05", None, "Eight days on a charge.", 5),
        ("AS1-R09", None, "Looks and feels like a finished product.", 5),
        ("AS1-R08", None, "Used it on a rainy hike, no problems.", 4),
        (None, "as1-c-led", "Green LED is hard to see.", 4),
        ("AS1-R07", None, "App sync is instant.", 4),
        ("AS1-R10", None, "Button is just right.", 4),
        (None, "as1-c-label", "Label on the back started to peel.", 4),
        ("AS1-R11", None, "Dropped it on tiles twice, still fine.", 4),
        (None, None, "Would buy it at the target price.", 5),
    ],
    ("ASW", "A"): [
        ("ASW-R02", "asw-a-heat", "Reads warmer than the room.", 2),
        ("ASW-R07", "asw-a-warp", "Gap at the top of the wall plate.", 2),
        ("ASW-R04", None, "Ventilation switching works as described.", 3),
        (None, None, "Big display is easy to read across the classroom.", 4),
        ("ASW-R01", None, "CO2 level matches the handheld meter roughly.", 3),
    ],
    ("ASW", "B"): [
        ("ASW-R02", None, "Temperature spot on now.", 4),
        ("ASW-R07", None, "Sits flush on the wall box.", 4),
        ("ASW-R06", None, "Modbus integration took an hour with the BMS.", 4),
        (None, "asw-b-terminal", "Terminals awkward to reach when mounted.", 3),
        ("ASW-R01", None, "Ventilation kicks in at the right time.", 5),
        ("ASW-R05", None, "Standby power measured under the limit.", 4),
    ],
    ("ASC", "A"): [
        ("ASC-R02", "asc-a-weight", "Too heavy for a collar.", 2),
        ("ASC-R04", "asc-a-clip", "Clip broke on day three.", 1),
        ("ASC-R01", "asc-a-pm", "Numbers jump while I walk.", 2),
        ("ASC-R03", "asc-a-standby", "Battery empty by the evening of day two.", 2),
        (None, None, "Really useful to see my commute exposure.", 4),
        ("ASC-R05", "asc-a-vent", "VOC high whenever it is under my coat.", 3),
    ],
    ("ASC", "B"): [
        ("ASC-R02", "asc-b-weight", "Lighter, I can wear it on a shirt now.", 4),
        ("ASC-R04", None, "Steel clip holds well.", 4),
        ("ASC-R01", None, "Readings steadier while walking.", 3),
        (None, "asc-b-anod", "Edges of the clip side chipped.", 3),
        ("ASC-R07", None, "A vibration alert would help me avoid smoky streets.", 4),
    ],
}

PILOT_USER_TEXTS: list[tuple[str | None, str, int]] = [
    ("AS1-R01", "Readings match the air-quality map of my street.", 4),
    ("AS1-R05", "Battery lasts the whole week.", 5),
    ("AS1-R02", "Made me open the window more often in meetings.", 5),
    (None, "My kids check it before going out.", 5),
    ("AS1-R07", "App sync is reliable.", 4),
    ("AS1-R03", "Temperature agrees with the office thermostat.", 4),
    (None, "Price feels right for what it does.", 4),
    ("AS1-R09", "Nicely finished, no rattles.", 4),
]

CUSTOMER_TEXTS: list[tuple[str | None, str, int]] = [
    ("AS1-R01", "Accurate, and the history graph is great.", 5),
    ("AS1-R05", "Charges once a week, as promised.", 5),
    ("AS1-R01", "PM reading seems a little high compared with my old monitor.", 3),
    (None, "Perfect size for the bag.", 4),
    ("AS1-R02", "CO2 alerts work well in the bedroom.", 5),
    ("AS1-R10", "Button could be a bit softer.", 4),
]

PILOT_USER_TEXTS_ASW: list[tuple[str | None, str, int]] = [
    ("ASW-R01", "Classroom air noticeably fresher in the afternoon.", 5),
    ("ASW-R04", "Relay drives our extractor fan without trouble.", 4),
    ("ASW-R06", "Shows up in the building system right away.", 4),
]

TESTERS = [
    "Amira Haddad", "Ben Carter", "Chiara Rossi", "David Kim", "Elif Demir", "Felix Braun",
    "Grace Mensah", "Hugo Lefevre", "Ines Duarte", "Jakub Novak", "Kaito Sato", "Laura Berg",
    "Marek Svoboda", "Nadia Farouk", "Oscar Lind", "Paula Ortiz", "Ravi Iyer", "Sara Nilsson",
    "Tariq Aziz", "Uma Patel", "Viktor Horvat", "Wen Li", "Yara Costa", "Zoe Martin",
]  # fmt: skip

OPERATORS = {
    "early": ["P. Dvorak", "J. Kralova", "M. Sedlak", "T. Horak", "E. Vesela", "L. Pokorny"],
    "late": ["R. Marek", "K. Blahova", "O. Fiala", "S. Urban", "D. Kucera", "A. Cerna"],
}
LAB_TECHNICIANS = ["Mei Chen", "Jonas Weber", "Lena Moreau"]
