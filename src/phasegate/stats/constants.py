"""Control-chart constants d2, d3, c4 and the factors derived from them, exact for any n.

The tables in textbooks stop at n = 25 (or 10) and are rounded to three or four digits; here every
constant is computed from its definition, so subgroups of any size get exact limits. d2 and d3 for
3 <= n <= 50 are the results of that computation written down (``_RANGE_TABLE``, checked against
it by the tests), so that the usual charts need no numerical integration, and no SciPy, at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from phasegate.domain.errors import invalid
from phasegate.stats._checks import FloatArray

__all__ = ["ControlConstants", "c4", "control_constants", "d2", "d3"]

_QUAD = {"epsabs": 1e-12, "epsrel": 1e-11, "limit": 200}


def _size(n: int, minimum: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < minimum:
        raise invalid("n", f"subgroup size must be an integer >= {minimum}, got {n!r}")
    return int(n)


# d2(n), d3(n) for 3 <= n <= 50: exactly the floats ``_d2_quad`` and ``_d3_quad`` return.
_RANGE_TABLE: dict[int, tuple[float, float]] = {
    3: (1.6925687506432687, 0.8883680040451986),
    4: (2.058750746007928, 0.8798082028249782),
    5: (2.325928947281039, 0.8640819410995083),
    6: (2.5344127212229424, 0.8480396861175091),
    7: (2.7043567512138087, 0.8332053356223201),
    8: (2.8472006120905555, 0.8198314897919378),
    9: (2.970026324418474, 0.8078342745533186),
    10: (3.077505461670345, 0.7970506735194129),
    11: (3.172872703816, 0.7873146205503316),
    12: (3.2584552797438255, 0.7784783412033931),
    13: (3.3359803540982544, 0.7704162020637553),
    14: (3.406763108199952, 0.7630230956247938),
    15: (3.471826889882074, 0.756211429727944),
    16: (3.531982786109575, 0.7499080894099154),
    17: (3.5878839617653813, 0.7440517839607301),
    18: (3.6400637579374435, 0.7385908533781786),
    19: (3.688963023207649, 0.7334814955188746),
    20: (3.7349501195966397, 0.7286863457073166),
    21: (3.77833582984262, 0.7241733407175055),
    22: (3.819384643362832, 0.7199148084342286),
    23: (3.858323423285006, 0.7158867354918228),
    24: (3.8953481484513555, 0.7120681751479427),
    25: (3.9306292195071117, 0.7084407658886663),
    26: (3.964315679522622, 0.7049883378034965),
    27: (3.996538604013155, 0.7016965888637126),
    28: (4.02741384824653, 0.698552817169369),
    29: (4.057044292095185, 0.6955456982561679),
    30: (4.08552168834302, 0.6926650988834281),
    31: (4.112928195276385, 0.6899019205211863),
    32: (4.139337655857812, 0.6872479671479313),
    33: (4.164816671940271, 0.6846958330532772),
    34: (4.189425511536967, 0.6822388071871974),
    35: (4.213218879207902, 0.6798707912632201),
    36: (4.2362465735129815, 0.6775862293482292),
    37: (4.258554050746444, 0.6753800470901012),
    38: (4.280182910470406, 0.6732475990662241),
    39: (4.301171315457524, 0.6711846230048838),
    40: (4.321554356350037, 0.6691871998451588),
    41: (4.341364369506934, 0.667251718777476),
    42: (4.360631215038834, 0.6653748465472435),
    43: (4.379382520842678, 0.6635535004214632),
    44: (4.39764389748496, 0.6617848243129583),
    45: (4.415439127996884, 0.6600661676346439),
    46: (4.432790336001, 0.6583950665237018),
    47: (4.449718135058959, 0.6567692271266052),
    48: (4.466241761691597, 0.6551865106842005),
    49: (4.482379194158409, 0.6536449201897737),
    50: (4.498147258779698, 0.6521425884299221),
}


@lru_cache(maxsize=4096)
def _d2(n: int) -> float:
    if n == 2:
        return 2.0 / math.sqrt(math.pi)
    if n in _RANGE_TABLE:
        return _RANGE_TABLE[n][0]
    return _d2_quad(n)


@lru_cache(maxsize=4096)
def _d3(n: int) -> float:
    if n == 2:
        return math.sqrt(2.0 - 4.0 / math.pi)
    if n in _RANGE_TABLE:
        return _RANGE_TABLE[n][1]
    return _d3_quad(n)


def _d2_quad(n: int) -> float:
    """d2(n) by adaptive quadrature of its defining integral."""
    from scipy import integrate, special

    def integrand(x: float) -> float:
        return float(1.0 - special.ndtr(x) ** n - special.ndtr(-x) ** n)

    return float(integrate.quad(integrand, -np.inf, np.inf, **_QUAD)[0])


def _d3_quad(n: int) -> float:
    """d3(n) by adaptive quadrature of the second moment of the relative range."""
    from scipy import integrate, special

    def inner(t: float) -> float:
        ft = float(special.ndtr(t))

        def integrand(s: float) -> float:
            fs = float(special.ndtr(s))
            return 1.0 - float(special.ndtr(-s)) ** n - ft**n + (ft - fs) ** n

        return float(integrate.quad(integrand, -np.inf, t, **_QUAD)[0])

    second_moment = 2.0 * float(integrate.quad(inner, -np.inf, np.inf, **_QUAD)[0])
    return math.sqrt(second_moment - _d2(n) ** 2)


def d2(n: int) -> float:
    r"""Mean of the relative range of ``n`` standard-normal observations.

    Parameters
    ----------
    n : int
        Subgroup size, at least 2.

    Returns
    -------
    float
        :math:`d_2(n) = E[R/\sigma]`.

    Notes
    -----
    .. math:: d_2(n) = \int_{-\infty}^{\infty} \left[1 - \Phi(x)^n - (1 - \Phi(x))^n\right] dx

    computed by adaptive quadrature (error below 1e-10; for :math:`n \le 50` its results are
    tabulated); :math:`d_2(2) = 2/\sqrt{\pi}` exactly.

    References
    ----------
    Tippett, L. H. C. (1925). On the extreme individuals and the range of samples taken from a
    normal population. *Biometrika* 17, 364-387.
    Montgomery, D. C. *Introduction to Statistical Quality Control*, Appendix Table VI.

    Examples
    --------
    >>> round(d2(5), 3)
    2.326
    """
    return _d2(_size(n, 2))


def d3(n: int) -> float:
    r"""Standard deviation of the relative range of ``n`` standard-normal observations.

    Parameters
    ----------
    n : int
        Subgroup size, at least 2.

    Returns
    -------
    float
        :math:`d_3(n) = \sqrt{\operatorname{Var}(R/\sigma)}`.

    Notes
    -----
    With :math:`W` the relative range, :math:`E[W^2] = 2\iint_{s<t}
    [1 - (1-\Phi(s))^n - \Phi(t)^n + (\Phi(t)-\Phi(s))^n]\,ds\,dt`, and
    :math:`d_3 = \sqrt{E[W^2] - d_2^2}`, by adaptive quadrature (tabulated for :math:`n \le 50`);
    :math:`d_3(2) = \sqrt{2 - 4/\pi}` exactly.

    References
    ----------
    Harter, H. L. (1960). Tables of range and studentized range. *Ann. Math. Statist.* 31,
    1122-1147.

    Examples
    --------
    >>> round(d3(5), 3)
    0.864
    """
    return _d3(_size(n, 2))


def c4(n: int) -> float:
    r"""Bias correction of the sample standard deviation: :math:`E[s] = c_4\sigma`.

    Parameters
    ----------
    n : int
        Sample size, at least 2.

    Returns
    -------
    float
        :math:`c_4(n)`.

    Notes
    -----
    .. math:: c_4(n) = \sqrt{\frac{2}{n-1}}\,\frac{\Gamma(n/2)}{\Gamma((n-1)/2)}

    evaluated through log-gamma, so it is exact for any n.

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, Sec. 6.3 and Appendix VI.

    Examples
    --------
    >>> round(c4(5), 4)
    0.94
    """
    m = _size(n, 2)
    return _c4(m)


@lru_cache(maxsize=4096)
def _c4(n: int) -> float:
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2.0) - math.lgamma((n - 1) / 2.0))


@dataclass(frozen=True, slots=True)
class ControlConstants:
    """The Shewhart constants for one subgroup size (names as in the textbooks)."""

    n: int
    d2: float
    d3: float
    c4: float
    A2: float
    A3: float
    B3: float
    B4: float
    D3: float
    D4: float


def control_constants(n: int) -> ControlConstants:
    r"""All Shewhart chart constants for subgroup size ``n``.

    Parameters
    ----------
    n : int
        Subgroup size, at least 2.

    Returns
    -------
    ControlConstants
        d2, d3, c4 and the derived A2, A3, B3, B4, D3, D4.

    Notes
    -----
    :math:`A_2 = 3/(d_2\sqrt n)`, :math:`D_{3,4} = \max(0, 1 \mp 3 d_3/d_2)`,
    :math:`A_3 = 3/(c_4\sqrt n)`, :math:`B_{3,4} = \max(0, 1 \mp 3\sqrt{1-c_4^2}/c_4)`.

    References
    ----------
    Montgomery, D. C. *Introduction to Statistical Quality Control*, Appendix Table VI;
    ASTM E2587, *Standard Practice for Use of Control Charts in Statistical Process Control*.

    Examples
    --------
    >>> k = control_constants(5)
    >>> round(k.A2, 3), round(k.D4, 3), round(k.A3, 3), round(k.B4, 3)
    (0.577, 2.114, 1.427, 2.089)
    """
    m = _size(n, 2)
    return _constants(m)


@lru_cache(maxsize=4096)
def _constants(n: int) -> ControlConstants:
    dd2, dd3, cc4 = _d2(n), _d3(n), _c4(n)
    root = math.sqrt(n)
    s_ratio = 3.0 * math.sqrt(1.0 - cc4 * cc4) / cc4
    return ControlConstants(
        n=n,
        d2=dd2,
        d3=dd3,
        c4=cc4,
        A2=3.0 / (dd2 * root),
        A3=3.0 / (cc4 * root),
        B3=max(0.0, 1.0 - s_ratio),
        B4=1.0 + s_ratio,
        D3=max(0.0, 1.0 - 3.0 * dd3 / dd2),
        D4=1.0 + 3.0 * dd3 / dd2,
    )


def constants_for_sizes(sizes: ArrayLike, name: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """d2, d3 and c4 per element of an integer array of sizes (each distinct size computed once)."""
    arr = np.asarray(sizes, dtype=np.int64)
    uniq, inverse = np.unique(arr, return_inverse=True)
    if uniq.size and uniq[0] < 2:
        raise invalid(name, f"every subgroup needs at least 2 values, found one with {uniq[0]}")
    table = np.array([(_d2(int(u)), _d3(int(u)), _c4(int(u))) for u in uniq], dtype=np.float64)
    table = table.reshape(-1, 3)
    return table[inverse, 0], table[inverse, 1], table[inverse, 2]
