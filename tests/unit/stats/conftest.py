"""Published data sets used by the stats tests (the numbers are facts; each names its source)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

# Montgomery, Introduction to Statistical Quality Control, 6th ed., Table 6.1 (Example 6.1):
# flow width (microns) of a hard-bake process, 25 samples of 5 wafers.
HARD_BAKE = [
    [1.3235, 1.4128, 1.6744, 1.4573, 1.6914],
    [1.4314, 1.3592, 1.6075, 1.4666, 1.6109],
    [1.4284, 1.4871, 1.4932, 1.4324, 1.5674],
    [1.5028, 1.6352, 1.3841, 1.2831, 1.5507],
    [1.5604, 1.2735, 1.5265, 1.4363, 1.6441],
    [1.5955, 1.5451, 1.3574, 1.3281, 1.4198],
    [1.6274, 1.5064, 1.8366, 1.4177, 1.5144],
    [1.4190, 1.4303, 1.6637, 1.6067, 1.5519],
    [1.3884, 1.7277, 1.5355, 1.5176, 1.3688],
    [1.4039, 1.6697, 1.5089, 1.4627, 1.5220],
    [1.4158, 1.7667, 1.4278, 1.5928, 1.4181],
    [1.5821, 1.3355, 1.5777, 1.3908, 1.7559],
    [1.2856, 1.4106, 1.4447, 1.6398, 1.1928],
    [1.4951, 1.4036, 1.5893, 1.6458, 1.4969],
    [1.3589, 1.2863, 1.5996, 1.2497, 1.5471],
    [1.5747, 1.5301, 1.5171, 1.1839, 1.8662],
    [1.3680, 1.7269, 1.3957, 1.5014, 1.4449],
    [1.4163, 1.3864, 1.3057, 1.6210, 1.5573],
    [1.5796, 1.4185, 1.6541, 1.5116, 1.7247],
    [1.7106, 1.4412, 1.2361, 1.3820, 1.7601],
    [1.4371, 1.5051, 1.3485, 1.5670, 1.4880],
    [1.4738, 1.5936, 1.6583, 1.4973, 1.4720],
    [1.5917, 1.4333, 1.5551, 1.5295, 1.6866],
    [1.6399, 1.5243, 1.5705, 1.5563, 1.5530],
    [1.5797, 1.3663, 1.6240, 1.3732, 1.6887],
]

# Montgomery, 6th ed., Tables 6.3 and 6.4 (piston-ring inside diameter, mm), also the `pistonrings`
# data of the R package qcc: 25 phase I samples of 5, then 15 phase II samples.
PISTON_RINGS = [
    [74.030, 74.002, 74.019, 73.992, 74.008],
    [73.995, 73.992, 74.001, 74.011, 74.004],
    [73.988, 74.024, 74.021, 74.005, 74.002],
    [74.002, 73.996, 73.993, 74.015, 74.009],
    [73.992, 74.007, 74.015, 73.989, 74.014],
    [74.009, 73.994, 73.997, 73.985, 73.993],
    [73.995, 74.006, 73.994, 74.000, 74.005],
    [73.985, 74.003, 73.993, 74.015, 73.988],
    [74.008, 73.995, 74.009, 74.005, 74.004],
    [73.998, 74.000, 73.990, 74.007, 73.995],
    [73.994, 73.998, 73.994, 73.995, 73.990],
    [74.004, 74.000, 74.007, 74.000, 73.996],
    [73.983, 74.002, 73.998, 73.997, 74.012],
    [74.006, 73.967, 73.994, 74.000, 73.984],
    [74.012, 74.014, 73.998, 73.999, 74.007],
    [74.000, 73.984, 74.005, 73.998, 73.996],
    [73.994, 74.012, 73.986, 74.005, 74.007],
    [74.006, 74.010, 74.018, 74.003, 74.000],
    [73.984, 74.002, 74.003, 74.005, 73.997],
    [74.000, 74.010, 74.013, 74.020, 74.003],
    [73.988, 74.001, 74.009, 74.005, 73.996],
    [74.004, 73.999, 73.990, 74.006, 74.009],
    [74.010, 73.989, 73.990, 74.009, 74.014],
    [74.015, 74.008, 73.993, 74.000, 74.010],
    [73.982, 73.984, 73.995, 74.017, 74.013],
    [74.012, 74.015, 74.030, 73.986, 74.000],
    [73.995, 74.010, 73.990, 74.015, 74.001],
    [73.987, 73.999, 73.985, 74.000, 73.990],
    [74.008, 74.010, 74.003, 73.991, 74.006],
    [74.003, 74.000, 74.001, 73.986, 73.997],
    [73.994, 74.003, 74.015, 74.020, 74.004],
    [74.008, 74.002, 74.018, 73.995, 74.005],
    [74.001, 74.004, 73.990, 73.996, 73.998],
    [74.015, 74.000, 74.016, 74.025, 74.000],
    [74.030, 74.005, 74.000, 74.016, 74.012],
    [74.001, 73.990, 73.995, 74.010, 74.024],
    [74.015, 74.020, 74.024, 74.005, 74.019],
    [74.035, 74.010, 74.012, 74.015, 74.026],
    [74.017, 74.013, 74.036, 74.025, 74.026],
    [74.010, 74.005, 74.029, 74.000, 74.020],
]

# NIST/SEMATECH e-Handbook of Statistical Methods, Sec. 6.3.2.2 (individuals and moving range).
NIST_FLOWRATE = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]

# NIST/SEMATECH e-Handbook, Sec. 6.3.3.1 (c chart, wafer defects).
NIST_WAFER_DEFECTS = [
    16, 14, 28, 16, 12, 20, 10, 12, 10, 17, 19, 17, 14, 16, 15, 13, 14, 16, 11, 20, 11, 19, 16,
    31, 13,
]  # fmt: skip

# Montgomery, 6th ed., Table 7.1 (Example 7.1): nonconforming orange-juice cans in 30 samples of
# 50; the same counts are the p-chart example of the NIST e-Handbook, Sec. 6.3.3.2.
ORANGE_JUICE = [
    12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22, 8, 10, 5, 13, 11, 20, 18, 24, 15, 9,
    12, 7, 13, 9, 6,
]  # fmt: skip

# Montgomery, 6th ed., Table 7.7 (Example 7.3): nonconformities in 26 samples of 100 boards.
CIRCUIT_BOARDS = [
    21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39, 30, 24, 16,
    19, 17, 15,
]  # fmt: skip

# Montgomery, 6th ed., Example 7.5 (Table 7.9): nonconformities in 20 samples of 5 computers.
COMPUTERS = [10, 12, 8, 14, 10, 16, 11, 7, 10, 15, 9, 5, 7, 11, 12, 6, 8, 10, 7, 5]

# Montgomery, 6th ed., Table 9.1: 30 individual observations, mu0 = 10, sigma = 1; the mean
# shifts to 11 from observation 21. Used for the tabular CUSUM (Example 9.1) and EWMA (9.2).
TABLE_9_1 = [
    9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34, 9.03, 11.47, 10.51, 9.40,
    10.08, 9.37, 10.62, 10.31, 8.52, 10.84, 10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38,
    11.62, 11.31, 10.52,
]  # fmt: skip

# NIST/SEMATECH e-Handbook, Sec. 6.3.2.4 (EWMA example; target 50, s = 2.0539, lambda = 0.3).
NIST_EWMA = [
    52.0, 47.0, 53.0, 49.3, 50.1, 47.0, 51.0, 50.1, 51.2, 50.5, 49.6, 47.6, 49.9, 51.3, 47.8,
    51.2, 52.6, 52.4, 53.6, 52.1,
]  # fmt: skip

# AIAG Measurement Systems Analysis Reference Manual, 4th ed. (2010), Ch. III Sec. B, data sheet
# of the gage study: 10 parts x 3 appraisers (A, B, C) x 3 trials; AIAG[(appraiser, trial)] is
# the list of readings for parts 1..10.
AIAG = {
    ("A", 1): [0.29, -0.56, 1.34, 0.47, -0.80, 0.02, 0.59, -0.31, 2.26, -1.36],
    ("A", 2): [0.41, -0.68, 1.17, 0.50, -0.92, -0.11, 0.75, -0.20, 1.99, -1.25],
    ("A", 3): [0.64, -0.58, 1.27, 0.64, -0.84, -0.21, 0.66, -0.17, 2.01, -1.31],
    ("B", 1): [0.08, -0.47, 1.19, 0.01, -0.56, -0.20, 0.47, -0.63, 1.80, -1.68],
    ("B", 2): [0.25, -1.22, 0.94, 1.03, -1.20, 0.22, 0.55, 0.08, 2.12, -1.62],
    ("B", 3): [0.07, -0.68, 1.34, 0.20, -1.28, 0.06, 0.83, -0.34, 2.19, -1.50],
    ("C", 1): [0.04, -1.38, 0.88, 0.14, -1.46, -0.29, 0.02, -0.46, 1.77, -1.49],
    ("C", 2): [-0.11, -1.13, 1.09, 0.20, -1.07, -0.67, 0.01, -0.56, 1.45, -1.77],
    ("C", 3): [-0.15, -0.96, 0.67, 0.11, -1.45, -0.49, 0.21, -0.49, 1.87, -2.16],
}


def aiag_long() -> tuple[list[float], list[int], list[str]]:
    """The AIAG study as (values, parts, operators), one entry per reading."""
    values: list[float] = []
    parts: list[int] = []
    operators: list[str] = []
    for (appraiser, _trial), readings in AIAG.items():
        for part, value in enumerate(readings, start=1):
            values.append(value)
            parts.append(part)
            operators.append(appraiser)
    return values, parts, operators


@pytest.fixture(scope="session")
def data() -> SimpleNamespace:
    """All published data sets above, as attributes."""
    return SimpleNamespace(
        hard_bake=HARD_BAKE,
        piston_rings=PISTON_RINGS,
        nist_flowrate=NIST_FLOWRATE,
        nist_wafer_defects=NIST_WAFER_DEFECTS,
        orange_juice=ORANGE_JUICE,
        circuit_boards=CIRCUIT_BOARDS,
        computers=COMPUTERS,
        table_9_1=TABLE_9_1,
        nist_ewma=NIST_EWMA,
        aiag=aiag_long(),
    )
