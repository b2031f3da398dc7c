"""The demo's sign-ins: one per role, each with a fixed password the README lists.

The partner login works for the contract manufacturer that makes the demo's pilot and
production runs, so it sees those builds and nothing else. The passwords are public: they are
for the demo database only, and need not be changed at the first sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass

from phasegate.domain.policy import Role

CONTRACT_MANUFACTURER = "Northbridge Electronics Manufacturing"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    name: str
    role: Role
    full_name: str
    password: str
    partner: str | None = None


def _login(role: Role, full_name: str, partner: str | None = None) -> DemoLogin:
    return DemoLogin(role.value, role, full_name, f"{role.value}-demo-1", partner)


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    _login(Role.ADMIN, "Demo administrator"),
    _login(Role.ENGINEER, "Demo engineer"),
    _login(Role.QUALITY, "Demo quality engineer"),
    _login(Role.OPERATIONS, "Demo operations manager"),
    _login(Role.PRODUCT, "Demo product manager"),
    _login(Role.VIEWER, "Demo viewer"),
    _login(Role.PARTNER, "Demo contract manufacturer", CONTRACT_MANUFACTURER),
)
"""Name, role and password of every demo login; ``name`` is the role's name."""
