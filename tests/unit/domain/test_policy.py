"""The policy table: role × action × kind, and token scopes that only ever narrow it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phasegate.domain.policy import (
    POLICY,
    PUBLIC,
    SCOPE_ACTIONS,
    SYSTEM,
    Action,
    Kind,
    Principal,
    Role,
    Scope,
    parse_permission,
    permission,
    role_may,
)

INTERNAL = [r for r in Role if r is not Role.PARTNER]
WRITES = [Action.CREATE, Action.UPDATE]


def _kinds(role: Role, action: Action) -> set[Kind]:
    return {kind for kind in Kind if role_may(role, action, kind)}


def test_every_role_has_a_row_for_every_action() -> None:
    assert set(POLICY) == set(Role)
    for role, row in POLICY.items():
        assert set(row) == set(Action), role
        assert all(kinds <= set(Kind) for kinds in row.values()), role


def test_every_scope_names_its_actions() -> None:
    assert set(SCOPE_ACTIONS) == set(Scope)
    assert SCOPE_ACTIONS[Scope.ADMIN] == frozenset(Action)
    assert SCOPE_ACTIONS[Scope.READ] == {Action.READ}
    assert SCOPE_ACTIONS[Scope.INGEST] == {Action.INGEST}
    assert Action.ADMINISTER not in SCOPE_ACTIONS[Scope.WRITE]


def test_admin_may_everything_any_role_may() -> None:
    for action in Action:
        anyone = set().union(*(_kinds(role, action) for role in Role))
        assert _kinds(Role.ADMIN, action) == anyone, action
    assert _kinds(Role.ADMIN, Action.READ) == set(Kind)
    assert _kinds(Role.ADMIN, Action.ADMINISTER) == {Kind.USER, Kind.TOKEN}
    assert SYSTEM.role is Role.ADMIN and SYSTEM.scopes is None and SYSTEM.is_admin


def test_viewer_may_only_read() -> None:
    viewer = Principal(name="vic", role=Role.VIEWER)
    for action in Action:
        for kind in Kind:
            allowed = action is Action.READ and kind not in {Kind.USER, Kind.TOKEN}
            assert viewer.may(action, kind) is allowed, (action, kind)
    assert not viewer.is_admin


@pytest.mark.parametrize(
    "kind",
    [Kind.REQUIREMENT, Kind.FEEDBACK, Kind.GATE_DECISION, Kind.AUDIT_EVENT, Kind.USER, Kind.TOKEN],
)
def test_partner_may_not_read_what_is_internal(kind: Kind) -> None:
    assert not role_may(Role.PARTNER, Action.READ, kind)


def test_partner_reads_what_it_builds_and_writes_only_units_and_test_data() -> None:
    for kind in (Kind.PRODUCT, Kind.BUILD, Kind.UNIT, Kind.TEST_DATA, Kind.FINDING, Kind.STATION):
        assert role_may(Role.PARTNER, Action.READ, kind), kind
    assert _kinds(Role.PARTNER, Action.CREATE) == {Kind.UNIT}
    assert _kinds(Role.PARTNER, Action.UPDATE) == {Kind.UNIT}
    assert _kinds(Role.PARTNER, Action.INGEST) == {Kind.TEST_DATA}
    assert _kinds(Role.PARTNER, Action.DECIDE_GATE) == set()
    assert _kinds(Role.PARTNER, Action.ADMINISTER) == set()
    assert Principal(name="cm", role=Role.PARTNER, partner_id=1).scoped
    assert not any(Principal(name="in", role=role).scoped for role in INTERNAL)


def test_only_product_and_admin_decide_gates() -> None:
    deciders = {r for r in Role if role_may(r, Action.DECIDE_GATE, Kind.GATE_DECISION)}
    assert deciders == {Role.PRODUCT, Role.ADMIN}


def test_only_admin_administers_and_nobody_else_touches_accounts() -> None:
    for role in Role:
        administers = bool(_kinds(role, Action.ADMINISTER))
        assert administers is (role is Role.ADMIN), role
        if role is not Role.ADMIN:
            for action in Action:
                assert not _kinds(role, action) & {Kind.USER, Kind.TOKEN}, (role, action)


def test_internal_roles_read_every_record_but_accounts() -> None:
    for role in INTERNAL:
        assert _kinds(role, Action.READ) >= set(Kind) - {Kind.USER, Kind.TOKEN}, role


def test_a_read_scoped_admin_token_may_not_create() -> None:
    token = Principal(name="root", role=Role.ADMIN, scopes=frozenset({Scope.READ}))
    assert token.may(Action.READ, Kind.BUILD)
    assert not token.may(Action.CREATE, Kind.BUILD)
    assert not token.may(Action.DECIDE_GATE, Kind.GATE_DECISION)
    assert not token.is_admin


def test_an_ingest_token_may_ingest_but_not_read() -> None:
    token = Principal(name="line-3", role=Role.OPERATIONS, scopes=frozenset({Scope.INGEST}))
    assert token.may(Action.INGEST, Kind.TEST_DATA)
    assert not token.may(Action.READ, Kind.TEST_DATA)
    assert not token.may(Action.READ, Kind.BUILD)
    assert not token.may(Action.CREATE, Kind.UNIT)


def test_a_scope_cannot_give_what_the_role_lacks() -> None:
    viewer = Principal(name="vic", role=Role.VIEWER, scopes=frozenset(Scope))
    assert not viewer.may(Action.CREATE, Kind.PRODUCT)
    assert not viewer.may(Action.ADMINISTER, Kind.USER)
    engineer = Principal(name="eng", role=Role.ENGINEER, scopes=frozenset({Scope.WRITE}))
    assert engineer.may(Action.CREATE, Kind.BUILD)
    assert not engineer.may(Action.DECIDE_GATE, Kind.GATE_DECISION)


def test_permission_text_round_trips() -> None:
    text = permission(Action.DECIDE_GATE, Kind.GATE_DECISION)
    assert text == "decide_gate:gate decision"
    assert parse_permission(text) == (Action.DECIDE_GATE, Kind.GATE_DECISION)
    assert parse_permission(PUBLIC) is None
    for action in Action:
        for kind in Kind:
            assert parse_permission(permission(action, kind)) == (action, kind)
    with pytest.raises(ValueError):
        parse_permission("fly:build")


_scopes = st.one_of(st.none(), st.frozensets(st.sampled_from(list(Scope))))


@given(
    role=st.sampled_from(list(Role)),
    scopes=_scopes,
    action=st.sampled_from(list(Action)),
    kind=st.sampled_from(list(Kind)),
)
def test_a_principal_never_may_more_than_its_role(
    role: Role, scopes: frozenset[Scope] | None, action: Action, kind: Kind
) -> None:
    principal = Principal(name="p", role=role, scopes=scopes)
    if principal.may(action, kind):
        assert role_may(role, action, kind)
        if scopes is not None:
            assert any(action in SCOPE_ACTIONS[s] for s in scopes)
    if scopes is None:
        assert principal.may(action, kind) is role_may(role, action, kind)


@given(
    role=st.sampled_from(list(Role)),
    wider=st.frozensets(st.sampled_from(list(Scope))),
    narrower=st.frozensets(st.sampled_from(list(Scope))),
    action=st.sampled_from(list(Action)),
    kind=st.sampled_from(list(Kind)),
)
def test_fewer_scopes_never_allow_more(
    role: Role, wider: frozenset[Scope], narrower: frozenset[Scope], action: Action, kind: Kind
) -> None:
    narrow = Principal(name="p", role=role, scopes=narrower & wider)
    wide = Principal(name="p", role=role, scopes=wider)
    if narrow.may(action, kind):
        assert wide.may(action, kind)
