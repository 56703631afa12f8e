"""Accounts use cases on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.errors import (
    DuplicateRegistration,
    RegistrationRejected,
    SecondFactorFailed,
    UsernameTaken,
)
from xinyidai.accounts.models import LoginSession, Organisation, User
from xinyidai.accounts.schemas import EnterpriseRegistration, OrganisationCreate, StaffInvite
from xinyidai.core import security
from xinyidai.core.access import Role
from xinyidai.core.audit import AuditRecord, verify_chain
from xinyidai.core.clock import utcnow
from xinyidai.core.database import session_scope
from xinyidai.core.errors import (
    AccountLocked,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from xinyidai.data.models import RegistryEnterprise

POLICY = accounts.SecurityPolicy()


def user(db: Session, username: str) -> User:
    return db.scalars(select(User).where(User.username == username)).one()


def principal(db: Session, username: str):  # type: ignore[no-untyped-def]
    return accounts.principal_for(user(db, username))


def registration(db: Session, **overrides: str) -> EnterpriseRegistration:
    example = demo.unregistered_example(db)
    assert example is not None
    fields = {
        "uscc": example.uscc,
        "legal_representative": example.legal_representative,
        "username": "new_firm",
        "display_name": "新企业",
        "password": "Qy!reg2026x",
    }
    fields.update(overrides)
    return EnterpriseRegistration(**fields)


def count(db: Session, model: type) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


class TestRegistration:
    def test_registers_and_verifies_against_the_registry(self, db: Session, world: object) -> None:
        data = registration(db)
        created = accounts.register_enterprise(db, data)
        assert created.roles == [Role.ENTERPRISE_ADMIN.value]
        profile = created.organisation.enterprise
        record = db.get(RegistryEnterprise, data.uscc)
        assert profile is not None and record is not None
        assert profile.uscc == data.uscc and created.organisation.name == record.name
        assert profile.verified_at is not None

    def test_lowercase_and_spaces_are_normalised(self, db: Session, world: object) -> None:
        data = registration(db)
        created = accounts.register_enterprise(
            db, data.model_copy(update={"uscc": f"  {data.uscc.lower()} "})
        )
        assert created.organisation.enterprise is not None
        assert created.organisation.enterprise.uscc == data.uscc

    @pytest.mark.parametrize(
        ("code", "fragment"),
        [
            ("9137100", "18"),
            ("91371002MA00AN4WI4", "I"),
            ("91110000600037341N", "L"),
        ],
    )
    def test_invalid_codes_say_what_is_wrong_and_create_nothing(
        self, db: Session, world: object, code: str, fragment: str
    ) -> None:
        before = count(db, Organisation)
        with pytest.raises(ValidationFailed) as exc:
            accounts.register_enterprise(db, registration(db, uscc=code))
        assert exc.value.field == "uscc"
        assert fragment in str(exc.value)
        assert count(db, Organisation) == before

    def test_unknown_code_or_wrong_legal_representative_is_rejected(self, db: Session, world: object) -> None:
        with pytest.raises(RegistrationRejected):
            accounts.register_enterprise(db, registration(db, legal_representative="不是我"))
        with pytest.raises(RegistrationRejected):
            accounts.register_enterprise(db, registration(db, uscc="91110000600037341L"))

    def test_revoked_enterprise_cannot_register(self, db: Session, world: object) -> None:
        record = db.scalars(select(RegistryEnterprise).where(RegistryEnterprise.status != "存续")).first()
        assert record is not None
        with pytest.raises(RegistrationRejected) as exc:
            accounts.register_enterprise(
                db, registration(db, uscc=record.uscc, legal_representative=record.legal_representative)
            )
        assert record.status in str(exc.value)

    def test_duplicate_registration_is_refused(self, db: Session, world: object) -> None:
        data = registration(db)
        accounts.register_enterprise(db, data)
        with pytest.raises(DuplicateRegistration):
            accounts.register_enterprise(db, data.model_copy(update={"username": "second_try"}))

    def test_duplicate_username_and_weak_password(self, db: Session, world: object) -> None:
        with pytest.raises(UsernameTaken):
            accounts.register_enterprise(db, registration(db, username="ent_admin"))
        with pytest.raises(ValidationFailed):
            accounts.register_enterprise(db, registration(db, password="password"))

    def test_html_in_names_is_stored_as_text(self, db: Session, world: object) -> None:
        created = accounts.register_enterprise(db, registration(db, display_name="<script>alert(1)</script>"))
        assert user(db, created.username).display_name == "<script>alert(1)</script>"


class TestLogin:
    def test_success_opens_a_session_and_audits(self, db: Session, world: object) -> None:
        outcome = accounts.login(db, "ent_admin", demo.DEMO_PASSWORD, POLICY)
        assert not outcome.needs_second_factor and not outcome.must_change_password
        stored = db.scalars(select(LoginSession)).one()
        assert stored.token_hash == security.token_digest(outcome.session_token)
        assert outcome.session_token not in stored.token_hash
        assert db.scalars(select(AuditRecord).where(AuditRecord.event_type == "login")).first() is not None

    def test_admins_need_a_second_factor(self, db: Session, world: object) -> None:
        outcome = accounts.login(db, "op_admin", demo.DEMO_PASSWORD, POLICY)
        assert outcome.needs_second_factor
        login_session = db.scalars(select(LoginSession)).one()
        assert not login_session.mfa_passed
        with pytest.raises(SecondFactorFailed):
            accounts.pass_second_factor(db, login_session, "12345x")
        secret = user(db, "op_admin").totp_secret
        assert secret
        accounts.pass_second_factor(db, login_session, security.totp_now(secret))
        assert login_session.mfa_passed

    def test_wrong_password_and_unknown_user_fail_the_same_way(self, db: Session, world: object) -> None:
        with pytest.raises(AuthenticationFailed) as known:
            accounts.login(db, "ent_admin", "Wrong#pass1", POLICY)
        with pytest.raises(AuthenticationFailed) as unknown:
            accounts.login(db, "nobody_here", "Wrong#pass1", POLICY)
        assert str(known.value) == str(unknown.value)

    def test_five_failures_lock_for_fifteen_minutes(self, db: Session, world: object) -> None:
        for _ in range(4):
            with pytest.raises(AuthenticationFailed):
                accounts.login(db, "ent_staff", "Wrong#pass1", POLICY)
        with pytest.raises(AccountLocked):
            accounts.login(db, "ent_staff", "Wrong#pass1", POLICY)
        locked = user(db, "ent_staff")
        assert locked.locked_until is not None
        assert timedelta(minutes=14) < locked.locked_until - utcnow() <= timedelta(minutes=15)
        with pytest.raises(AccountLocked):  # the right password does not help while locked
            accounts.login(db, "ent_staff", demo.DEMO_PASSWORD, POLICY)
        locked.locked_until = utcnow() - timedelta(seconds=1)
        assert accounts.login(db, "ent_staff", demo.DEMO_PASSWORD, POLICY).user.username == "ent_staff"

    def test_disabled_user_cannot_log_in(self, db: Session, world: object) -> None:
        user(db, "bank_manager").is_active = False
        with pytest.raises(AuthenticationFailed):
            accounts.login(db, "bank_manager", demo.DEMO_PASSWORD, POLICY)

    def test_idle_sessions_expire(self, db: Session, world: object) -> None:
        outcome = accounts.login(db, "ent_admin", demo.DEMO_PASSWORD, POLICY)
        assert accounts.resolve_session(db, outcome.session_token, POLICY) is not None
        stored = db.scalars(select(LoginSession)).one()
        stored.last_seen_at = utcnow() - timedelta(minutes=31)
        assert accounts.resolve_session(db, outcome.session_token, POLICY) is None
        assert count(db, LoginSession) == 0

    def test_logout_everywhere_ends_every_session(self, db: Session, world: object) -> None:
        for _ in range(3):
            accounts.login(db, "ent_admin", demo.DEMO_PASSWORD, POLICY)
        accounts.login(db, "ent_staff", demo.DEMO_PASSWORD, POLICY)
        assert accounts.logout_everywhere(db, user(db, "ent_admin")) == 3
        assert count(db, LoginSession) == 1


class TestTotpEnrolment:
    def test_enrol_then_recovery_code_works_once(self, db: Session, world: object) -> None:
        admin = user(db, "op_admin")
        admin.totp_enabled, admin.totp_secret = False, None
        outcome = accounts.login(db, "op_admin", demo.DEMO_PASSWORD, POLICY)
        assert outcome.needs_totp_enrolment
        login_session = db.scalars(select(LoginSession)).one()
        secret = accounts.begin_totp_enrolment(admin)
        with pytest.raises(SecondFactorFailed):
            accounts.confirm_totp_enrolment(db, login_session, secret, "abc")
        codes = accounts.confirm_totp_enrolment(db, login_session, secret, security.totp_now(secret))
        assert len(codes) == 10 and admin.totp_enabled
        accounts.login(db, "op_admin", demo.DEMO_PASSWORD, POLICY)
        second = db.scalars(select(LoginSession).where(LoginSession.mfa_passed.is_(False))).one()
        accounts.pass_second_factor(db, second, codes[0].upper())
        third_outcome = accounts.login(db, "op_admin", demo.DEMO_PASSWORD, POLICY)
        third = accounts.resolve_session(db, third_outcome.session_token, POLICY)
        assert third is not None
        with pytest.raises(SecondFactorFailed):
            accounts.pass_second_factor(db, third, codes[0])


class TestPasswords:
    def test_change_password_checks_current_and_policy(self, db: Session, world: object) -> None:
        member = user(db, "ent_staff")
        with pytest.raises(AuthenticationFailed):
            accounts.change_password(db, member, "Wrong#pass1", "Brand#New2026")
        with pytest.raises(ValidationFailed):
            accounts.change_password(db, member, demo.DEMO_PASSWORD, "short")
        with pytest.raises(ValidationFailed):
            accounts.change_password(db, member, demo.DEMO_PASSWORD, demo.DEMO_PASSWORD)
        accounts.change_password(db, member, demo.DEMO_PASSWORD, "Brand#New2026")
        assert security.verify_password(member.password_hash, "Brand#New2026")


class TestOrganisationsAndStaff:
    def test_operator_onboards_a_bank_with_an_invited_admin(self, db: Session, world: object) -> None:
        op = principal(db, "op_admin")
        org, invited = accounts.onboard_organisation(
            db,
            op,
            OrganisationCreate(
                kind="institution",
                name="威海农商银行",
                region_code="371000",
                institution_type="bank",
                admin_username="rcb_admin",
                admin_display_name="钱行长",
            ),
        )
        assert org.institution is not None and org.institution.institution_type == "bank"
        assert invited.user.must_change_password and invited.user.roles == ["institution_admin"]
        security.check_password_policy(invited.temporary_password, "rcb_admin")
        outcome = accounts.login(db, "rcb_admin", invited.temporary_password, POLICY)
        assert outcome.must_change_password and outcome.needs_totp_enrolment

    def test_onboarding_needs_the_operator_admin(self, db: Session, world: object) -> None:
        data = OrganisationCreate(
            kind="department",
            name="威海市科学技术局",
            region_code="371000",
            admin_username="sci_admin",
            admin_display_name="科技局",
        )
        for username in ("op_audit", "op_data", "bank_admin", "gov_admin"):
            with pytest.raises(PermissionDenied):
                accounts.onboard_organisation(db, principal(db, username), data)

    def test_unknown_region_is_refused(self, db: Session, world: object) -> None:
        data = OrganisationCreate(
            kind="department",
            name="某局",
            region_code="999999",
            admin_username="x_admin",
            admin_display_name="某",
        )
        with pytest.raises(ValidationFailed):
            accounts.onboard_organisation(db, principal(db, "op_admin"), data)

    def test_admin_invites_staff_of_own_kind_only(self, db: Session, world: object) -> None:
        bank = principal(db, "bank_admin")
        invited = accounts.invite_staff(
            db, bank, StaffInvite(username="bank_new", display_name="新经理", roles=["account_manager"])
        )
        assert invited.user.organisation_id == bank.organisation_id
        with pytest.raises(ValidationFailed):
            accounts.invite_staff(
                db, bank, StaffInvite(username="bank_bad", display_name="x", roles=["operator_admin"])
            )
        with pytest.raises(PermissionDenied):
            accounts.invite_staff(
                db,
                principal(db, "bank_manager"),
                StaffInvite(username="bank_x", display_name="x", roles=["risk_officer"]),
            )

    def test_another_organisations_staff_is_not_found(self, db: Session, world: object) -> None:
        bank = principal(db, "bank_admin")
        other = user(db, "gov_staff")
        with pytest.raises(NotFound):
            accounts.set_user_active(db, bank, other.id, False)
        with pytest.raises(NotFound):
            accounts.reset_password(db, bank, other.id)
        assert {u.organisation_id for u in accounts.list_staff(db, bank)} == {bank.organisation_id}

    def test_disabling_staff_ends_their_sessions(self, db: Session, world: object) -> None:
        accounts.login(db, "bank_manager", demo.DEMO_PASSWORD, POLICY)
        accounts.set_user_active(db, principal(db, "bank_admin"), user(db, "bank_manager").id, False)
        assert count(db, LoginSession) == 0


class TestApiClients:
    def test_client_credentials_give_a_scoped_token(self, db: Session, world: object) -> None:
        bank = principal(db, "bank_admin")
        client, secret = accounts.create_api_client(db, bank, "信贷系统", ["authenticated"])
        assert secret not in client.secret_hash
        token, lifetime = accounts.issue_api_token(db, client.client_id, secret, POLICY)
        assert lifetime == 3600
        machine = accounts.principal_for_token(db, token)
        assert machine is not None and machine.organisation_id == bank.organisation_id
        assert Role.INSTITUTION_ADMIN not in machine.roles
        with pytest.raises(AuthenticationFailed):
            accounts.issue_api_token(db, client.client_id, "wrong", POLICY)
        accounts.revoke_api_client(db, bank, client.id)
        assert accounts.principal_for_token(db, token) is None

    def test_unknown_scope_is_refused(self, db: Session, world: object) -> None:
        with pytest.raises(ValidationFailed):
            accounts.create_api_client(db, principal(db, "bank_admin"), "x系统", ["delete_everything"])


class TestAuditTrail:
    def test_chain_detects_tampering(self, db: Session, world: object) -> None:
        for _ in range(3):
            accounts.login(db, "ent_admin", demo.DEMO_PASSWORD, POLICY)
        assert verify_chain(db) == (True, None)
        second = db.scalars(select(AuditRecord).order_by(AuditRecord.id).offset(1)).first()
        assert second is not None
        postgres = db.get_bind().dialect.name == "postgresql"
        if postgres:  # the database itself refuses; bypass it as a superuser would, to test the chain
            db.execute(text("ALTER TABLE audit_records DISABLE TRIGGER audit_records_append_only"))
        second.result = "failure"
        db.flush()
        if postgres:
            db.execute(text("ALTER TABLE audit_records ENABLE TRIGGER audit_records_append_only"))
        intact, broken = verify_chain(db)
        assert not intact and broken == second.id


def test_sql_in_names_is_stored_as_plain_text(db: Session, world: object) -> None:
    created = accounts.register_enterprise(db, registration(db, display_name="'); DROP TABLE users; --"))
    db.flush()
    assert user(db, created.username).display_name == "'); DROP TABLE users; --"
    assert count(db, User) > 1


def test_unknown_user_costs_a_password_hash_too(
    db: Session, world: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Response time must not reveal which usernames exist: one argon2 check either way."""
    calls: list[str | None] = []
    real = security.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(security, "verify_password", counting)
    for username in ("ent_admin", "no_such_user"):
        calls.clear()
        with pytest.raises(AuthenticationFailed):
            accounts.login(db, username, "Wrong#pass1", POLICY)
        assert len(calls) == 1, username


def test_postgres_refuses_to_change_or_delete_audit_records(engine: Engine, world: object) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger exists on PostgreSQL; SQLite relies on the hash chain")
    with session_scope(engine) as session:
        accounts.login(session, "ent_admin", demo.DEMO_PASSWORD, POLICY)
    for statement in ("UPDATE audit_records SET result = 'failure'", "DELETE FROM audit_records"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with session_scope(engine) as session:
        assert verify_chain(session) == (True, None)
