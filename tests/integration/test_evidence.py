"""The evidence log on both databases: real flows append to it, receipts check offline, and rows edited,
deleted, inserted or reordered behind the application's back are named by ``verify``."""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from xinyidai import demo
from xinyidai.accounts import service as accounts
from xinyidai.accounts.models import User
from xinyidai.cli import app as cli_app
from xinyidai.core.access import OrgKind, Principal, Role
from xinyidai.core.clock import today_local
from xinyidai.core.database import session_scope
from xinyidai.core.errors import NotFound, ValidationFailed
from xinyidai.core.evidence import keys, merkle
from xinyidai.core.evidence import service as evidence
from xinyidai.core.evidence.models import EvidenceEntry
from xinyidai.core.evidence.service import ReceiptInvalid
from xinyidai.core.settings import Settings, get_settings
from xinyidai.funds import ledger
from xinyidai.market import service as market
from xinyidai.market.schemas import (
    ApplicationInput,
    ApprovalInput,
    ConsentInput,
    DisbursementInput,
    LoanReportInput,
    ProductInput,
)

SETTINGS = Settings(market_max_holders=3)


def who(db: Session, username: str) -> Principal:
    return accounts.principal_for(db.scalars(select(User).where(User.username == username)).one())


@pytest.fixture
def people(world: list[demo.DemoLogin], engine: Engine) -> dict[str, Principal]:
    with session_scope(engine) as db:
        names = ("ent_admin", "bank_admin", "bank_manager", "bank_risk", "op_admin", "op_audit", "gov_admin")
        return {name: who(db, name) for name in names}


def kinds(db: Session) -> list[str]:
    return list(db.scalars(select(EvidenceEntry.kind).order_by(EvidenceEntry.seq)))


def listed_product(db: Session, bank: Principal, op: Principal) -> int:
    data = ProductInput.model_validate(
        {
            "external_id": "EV-01",
            "name": "存证贷",
            "product_type": "credit",
            "amount_min": Decimal("100000"),
            "amount_max": Decimal("3000000"),
            "term_min": 3,
            "term_max": 36,
            "rate_min": Decimal("3.45"),
            "rate_max": Decimal("6.00"),
            "repayment_methods": ["interest_first"],
            "pure_credit": True,
            "pricing": {"A": Decimal("3.45"), "B": Decimal("4.20"), "C": Decimal("5.50")},
        }
    )
    product = market.upsert_product(db, bank, data).product
    market.submit_product(db, bank, product.id)
    market.review_product(db, op, product.id, approve=True)
    return product.id


def test_consents_looks_applications_and_postings_are_recorded_with_checkable_receipts(
    engine: Engine, people: dict[str, Principal], settings: Settings
) -> None:
    ent, bank, risk, manager = (
        people["ent_admin"],
        people["bank_admin"],
        people["bank_risk"],
        people["bank_manager"],
    )
    with session_scope(engine) as db:
        start = evidence.log_size(db)
        uscc = market.own_enterprise(db, None, ent).uscc
        consent = market.give_consent(
            db,
            ent,
            ConsentInput(institution_id=bank.organisation_id, expires_on=today_local() + timedelta(days=30)),
        )
        market.check_report_access(db, bank, uscc, "full", purpose="loan_review", channel="page")
        product_id = listed_product(db, bank, people["op_admin"])
        app = market.apply(
            db,
            None,
            ent,
            ApplicationInput(product_id=product_id, amount=Decimal("200000"), term_months=6),
            SETTINGS,
            authorise=False,
        ).application
        market.accept(db, manager, app.id)
        market.approve(
            db, risk, app.id, ApprovalInput(amount=Decimal("200000"), rate=Decimal("4.2"), term_months=6)
        )
        loan = market.disburse(db, manager, app.id, DisbursementInput())
        market.report_loan(
            db,
            manager,
            loan.id,
            LoanReportInput(kind="repayment", amount=Decimal("1000.00"), occurred_on=today_local()),
        )
        market.revoke_consent(db, ent, consent.id)
        ledger.open_account(db, "fund:ev:cash", "基金 银行存款", "asset")
        ledger.open_account(db, "fund:ev:capital", "基金 资本金", "equity")
        posting = ledger.post(
            db,
            key="ev-1",
            kind="contribution",
            posted_by="fund_manager",
            lines=[
                ledger.Line("fund:ev:cash", debit=Decimal("1000.00")),
                ledger.Line("fund:ev:capital", credit=Decimal("1000.00")),
            ],
        )
        recorded = kinds(db)[start:]
        assert recorded == [
            "consent.given",
            "report.query",
            "application.submitted",
            "application.accepted",
            "application.approved",
            "application.disbursed",
            "loan.repayment",
            "consent.revoked",
            "funds.posting",
        ]
        receipts = evidence.receipts_for(db, [f"consent:{consent.id}", f"application:{app.id}"])
        given_seq = receipts[f"consent:{consent.id}"][0][0]
        approved_seq = receipts[f"application:{app.id}"][2][0]
        given = json.loads(db.get(EvidenceEntry, given_seq).data)  # type: ignore[union-attr]
        assert given["payload"]["text_sha256"] == consent.text_sha256
        assert given["enterprise_uscc"] == uscc and given["organisation_id"] == bank.organisation_id
        assert "王海燕" not in db.get(EvidenceEntry, given_seq).data  # type: ignore[union-attr]  # no names
        posting_entry = db.scalars(
            select(EvidenceEntry).where(EvidenceEntry.subject == f"journal_entry:{posting.id}")
        ).one()
        assert json.loads(posting_entry.data)["payload"]["lines"][0]["debit"] == "1000.00"

    key = evidence.public_key(settings)
    with session_scope(engine) as db:
        mine = evidence.receipt(db, settings, ent, given_seq, uscc)
        assert evidence.check_receipt(mine, key)["kind"] == "consent.given"
        decision = evidence.receipt(db, settings, risk, approved_seq, None)
        assert evidence.check_receipt(decision, key)["payload"]["to"] == "approved"
        assert evidence.check_receipt(
            evidence.receipt(db, settings, people["op_audit"], given_seq, None), key
        )
        with pytest.raises(NotFound):  # not a party: the department, the operator admin, another enterprise
            evidence.receipt(db, settings, people["gov_admin"], given_seq, None)
        with pytest.raises(NotFound):
            evidence.receipt(db, settings, people["op_admin"], given_seq, None)
        with pytest.raises(NotFound):
            evidence.receipt(db, settings, ent, given_seq, "91110000600037341L")
        stranger = Principal(None, 999_999, OrgKind.INSTITUTION, frozenset({Role.INSTITUTION_ADMIN}), "x")
        with pytest.raises(NotFound):
            evidence.receipt(db, settings, stranger, approved_seq, None)
        assert evidence.verify(db, key).ok

    # a forged payload, a receipt against the wrong key, a proof for a different entry: all refused
    forged = copy.deepcopy(mine)
    forged["entry"]["data"] = forged["entry"]["data"].replace('"loan_review"', '"post_loan"')
    assert_refused(forged, key, "data does not match its hash")
    forged["leaf_hash"] = merkle.leaf_hash(forged["entry"]["data"].encode()).hex()  # hash recomputed too
    assert_refused(forged, key, "does not lead to the signed root")
    assert_refused(mine, Ed25519PrivateKey.generate().public_key(), "different key")
    other_proof = copy.deepcopy(mine)
    other_proof["inclusion_proof"] = decision["inclusion_proof"]
    other_proof["entry"], other_proof["leaf_hash"] = decision["entry"], decision["leaf_hash"]
    other_proof["entry"] = {**decision["entry"], "index": given_seq}  # another entry put in this one's place
    assert_refused(other_proof, key, "places it at")
    swapped = copy.deepcopy(mine)
    swapped["inclusion_proof"] = decision["inclusion_proof"]  # this entry with another entry's proof
    assert_refused(swapped, key, "does not lead to the signed root")
    resigned = copy.deepcopy(mine)
    resigned["tree_head"]["timestamp_ms"] += 1  # the signed text changed
    assert_refused(resigned, key, "signature")
    assert_refused({"format": "something else"}, key, "not an evidence receipt")
    assert_refused({**mine, "inclusion_proof": ["zz"]}, key, "malformed")


def assert_refused(document: dict[str, Any], key: Any, reason: str) -> None:
    with pytest.raises(ReceiptInvalid) as caught:
        evidence.check_receipt(document, key)
    assert reason in caught.value.message % caught.value.params


# ---------------------------------------------------------------- tampering behind the application's back


def fill(engine: Engine, settings: Settings, n: int = 40) -> None:
    with session_scope(engine) as db:
        for i in range(n):
            evidence.append(db, "test.event", {"i": i, "amount": Decimal("1.50")}, subject=f"test:{i}")
            if i == 29:
                evidence.sign_head(db, settings)
        evidence.sign_head(db, settings)


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), params)


def row(engine: Engine, seq: int) -> tuple[str, bytes]:
    with engine.connect() as connection:
        data, leaf = connection.execute(
            text("SELECT data, leaf_hash FROM evidence_entries WHERE seq = :s"), {"s": seq}
        ).one()
    return data, bytes(leaf)


def verify(engine: Engine, settings: Settings) -> evidence.Finding | None:
    with session_scope(engine) as db:
        return evidence.verify(db, evidence.public_key(settings), batch=7).finding


def edit_payload(engine: Engine) -> None:
    data, _ = row(engine, 17)
    sql(engine, "UPDATE evidence_entries SET data = :d WHERE seq = 17", d=data.replace('"i":17', '"i":71'))


def edit_payload_and_hash(engine: Engine) -> None:
    data, _ = row(engine, 20)
    new = data.replace('"amount":"1.50"', '"amount":"9.50"')
    sql(
        engine,
        "UPDATE evidence_entries SET data = :d, leaf_hash = :h WHERE seq = 20",
        d=new,
        h=merkle.leaf_hash(new.encode()),
    )


def delete_row(engine: Engine) -> None:
    sql(engine, "DELETE FROM evidence_entries WHERE seq = 17")


def delete_last(engine: Engine) -> None:
    sql(engine, "DELETE FROM evidence_entries WHERE seq = 39")


def insert_at_end(engine: Engine) -> None:
    data, _ = row(engine, 39)
    new = data.replace('"seq":39', '"seq":40')
    sql(
        engine,
        "INSERT INTO evidence_entries (seq, kind, subject, recorded_at, data, leaf_hash)"
        " SELECT 40, kind, subject, recorded_at, :d, :h FROM evidence_entries WHERE seq = 39",
        d=new,
        h=merkle.leaf_hash(new.encode()),
    )


def insert_in_middle(engine: Engine) -> None:
    for seq in range(39, 16, -1):  # make room at 17, one row at a time (the key is unique at every step)
        sql(engine, "UPDATE evidence_entries SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    data, _ = row(engine, 18)
    new = data.replace('"i":17', '"i":1700')  # a well-formed record claiming number 17, hash and all
    sql(
        engine,
        "INSERT INTO evidence_entries (seq, kind, subject, recorded_at, data, leaf_hash)"
        " SELECT 17, kind, subject, recorded_at, :d, :h FROM evidence_entries WHERE seq = 18",
        d=new,
        h=merkle.leaf_hash(new.encode()),
    )


def swap_rows(engine: Engine) -> None:
    a, b = row(engine, 12), row(engine, 25)
    sql(engine, "UPDATE evidence_entries SET data = :d, leaf_hash = :h WHERE seq = 12", d=b[0], h=b[1])
    sql(engine, "UPDATE evidence_entries SET data = :d, leaf_hash = :h WHERE seq = 25", d=a[0], h=a[1])


def forge_head(engine: Engine) -> None:
    sql(engine, "UPDATE evidence_tree_heads SET root_hash = :r WHERE tree_size = 30", r=b"\x07" * 32)


@pytest.mark.parametrize(
    ("tamper", "problem", "seq"),
    [
        (edit_payload, "edited", 17),
        (edit_payload_and_hash, "rewritten", 16),  # located to its block of 16 (the stored subtree hash)
        (delete_row, "deleted", 17),
        (delete_last, "deleted", 39),
        (insert_at_end, "inserted", 40),
        (insert_in_middle, "inserted", 17),
        (swap_rows, "reordered", 12),
        (forge_head, "signature", None),
    ],
)
def test_verify_names_the_first_entry_changed_behind_the_applications_back(
    engine: Engine, settings: Settings, tamper: Callable[[Engine], None], problem: str, seq: int | None
) -> None:
    fill(engine, settings)
    assert verify(engine, settings) is None
    tamper(engine)
    finding = verify(engine, settings)
    assert finding is not None
    assert (finding.problem, finding.seq) == (problem, seq)
    if seq is not None and problem != "rewritten":
        assert str(seq) in finding.message % finding.params


def test_a_damaged_log_is_not_signed_again(engine: Engine, settings: Settings) -> None:
    fill(engine, settings, 20)
    sql(engine, "UPDATE evidence_nodes SET hash = :h WHERE level = 4 AND position = 0", h=b"\x01" * 32)
    with session_scope(engine) as db, pytest.raises(evidence.EvidenceDamaged):
        evidence.sign_head(db, settings)


# ---------------------------------------------------------------- numbers, proofs, keys


def test_concurrent_appends_get_gap_free_numbers_and_a_rollback_gives_its_number_back(
    engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as db:
        evidence.append(db, "test.event", {"i": -1}, subject="test:first")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(5):
                with session_scope(engine) as db:
                    evidence.append(db, "test.event", {"w": worker, "i": i}, subject=f"test:{worker}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with pytest.raises(RuntimeError), session_scope(engine) as db:
        evidence.append(db, "test.event", {"i": "lost"}, subject="test:lost")
        raise RuntimeError("the request failed")
    with session_scope(engine) as db:
        assert evidence.append(db, "test.event", {"i": "next"}, subject="test:next").seq == 41
        assert list(db.scalars(select(EvidenceEntry.seq).order_by(EvidenceEntry.seq))) == list(range(42))
        assert evidence.verify(db, evidence.public_key(settings)).ok


def test_proofs_from_stored_hashes_match_the_definition(engine: Engine, settings: Settings) -> None:
    fill(engine, settings, 70)
    with session_scope(engine) as db:
        leaves = list(db.scalars(select(EvidenceEntry.leaf_hash).order_by(EvidenceEntry.seq)))
        for size in (1, 16, 17, 33, 64, 70):
            root = evidence.root_at(db, size)
            assert root == merkle.naive_root(leaves[:size])
            for index in {0, size // 2, size - 1}:
                proof = evidence.inclusion_proof(db, index, size)
                assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
            for first in (1, 5, 16, size):
                if first <= size:
                    proof = evidence.consistency_proof(db, first, size)
                    assert merkle.verify_consistency(
                        first, size, merkle.naive_root(leaves[:first]), root, proof
                    )
        with pytest.raises(ValidationFailed):
            evidence.inclusion_proof(db, 70, 70)
        with pytest.raises(ValidationFailed):
            evidence.consistency_proof(db, 10, 71)


def test_signing_key_from_settings_and_refused_in_production_without_one(tmp_path: Path) -> None:
    raw = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    seed = raw.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    configured = Settings(home=tmp_path, evidence_signing_key=base64.b64encode(seed).decode())
    assert keys.fingerprint(evidence.public_key(configured)) == keys.fingerprint(raw.public_key())
    with pytest.raises(keys.SigningKeyMissing):
        evidence.public_key(Settings(home=tmp_path, environment="production", secret_key="s" * 48))
    with pytest.raises(keys.SigningKeyMissing):
        evidence.public_key(Settings(home=tmp_path, evidence_signing_key="not a key"))
    generated = Settings(home=tmp_path / "dev")
    first = keys.fingerprint(evidence.public_key(generated))
    assert first == keys.fingerprint(evidence.public_key(generated))  # kept, not regenerated
    assert (tmp_path / "dev" / keys.KEY_FILE).stat().st_mode & 0o077 == 0


# ---------------------------------------------------------------- web and CLI


def test_api_and_receipt_downloads_for_the_parties_only(
    login: Callable[[str], Any], engine: Engine, people: dict[str, Principal], settings: Settings
) -> None:
    ent, bank = people["ent_admin"], people["bank_admin"]
    with session_scope(engine) as db:
        consent = market.give_consent(
            db,
            ent,
            ConsentInput(institution_id=bank.organisation_id, expires_on=today_local() + timedelta(days=30)),
        )
        seq = evidence.receipts_for(db, [f"consent:{consent.id}"])[f"consent:{consent.id}"][0][0]
        evidence.append(db, "test.event", {"i": 1}, subject="test:1")
    enterprise = login("ent_admin")
    page = enterprise.client.get("/enterprise/consents")
    assert f'href="/evidence/receipts/{seq}.json"' in page.text
    download = enterprise.client.get(f"/evidence/receipts/{seq}.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    key_info = enterprise.client.get("/api/v1/evidence/public-key").json()
    key = keys.load_public(key_info["pem"])
    assert evidence.check_receipt(download.json(), key)["payload"]["consent_id"] == consent.id
    assert login("gov_admin").client.get(f"/evidence/receipts/{seq}.json").status_code in (403, 404)
    assert login("op_admin").client.get(f"/api/v1/evidence/entries/{seq}/receipt").status_code in (403, 404)
    bank_client = login("bank_risk").client
    proof = bank_client.get(f"/api/v1/evidence/entries/{seq}/proof").json()
    head = proof["tree_head"]
    assert merkle.verify_inclusion(
        seq,
        proof["tree_size"],
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(p) for p in proof["inclusion_proof"]],
        bytes.fromhex(head["root_hash"]),
    )
    anonymous = login("ent_staff").client  # any caller may read the head and consistency proofs
    latest = anonymous.get("/api/v1/evidence/head").json()
    consistency = anonymous.get(
        "/api/v1/evidence/consistency", params={"first": head["tree_size"], "second": latest["tree_size"]}
    ).json()
    assert merkle.verify_consistency(
        head["tree_size"],
        latest["tree_size"],
        bytes.fromhex(head["root_hash"]),
        bytes.fromhex(latest["root_hash"]),
        [bytes.fromhex(p) for p in consistency["consistency_proof"]],
    )
    bad = anonymous.get("/api/v1/evidence/consistency", params={"first": 5, "second": 10**6})
    assert bad.status_code == 422 and "1000000" in bad.json()["detail"]


@pytest.fixture
def cli_env(
    tmp_path: Path, database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    monkeypatch.setenv("XYD_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XYD_DATABASE_URL", database_url)
    monkeypatch.setenv("XYD_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_cli_signs_verifies_exports_and_checks_receipts(
    cli_env: Settings, engine: Engine, tmp_path: Path
) -> None:
    fill(engine, cli_env, 25)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["evidence", "sign-head"]).exit_code == 0
    result = runner.invoke(cli_app, ["evidence", "verify"])
    assert result.exit_code == 0, result.output
    pem = tmp_path / "key.pem"
    assert runner.invoke(cli_app, ["evidence", "export-public-key", "-o", str(pem)]).exit_code == 0
    auditor = Principal(None, 1, OrgKind.OPERATOR, frozenset({Role.AUDITOR}), "audit")
    with session_scope(engine) as db:
        document = evidence.receipt(db, cli_env, auditor, 7, None)
    receipt = tmp_path / "receipt.json"
    receipt.write_text(json.dumps(document))
    ok = runner.invoke(cli_app, ["evidence", "check-receipt", str(receipt), "--public-key", str(pem)])
    assert ok.exit_code == 0 and "回执有效" in ok.output
    document["entry"]["data"] = document["entry"]["data"].replace('"i":7', '"i":8')
    receipt.write_text(json.dumps(document))
    bad = runner.invoke(cli_app, ["evidence", "check-receipt", str(receipt), "--public-key", str(pem)])
    assert bad.exit_code == 1 and "回执无效" in bad.output
    sql(engine, "DELETE FROM evidence_entries WHERE seq = 11")
    broken = runner.invoke(cli_app, ["evidence", "verify"])
    assert broken.exit_code == 1 and "11" in broken.output


def test_the_documented_offline_check_accepts_a_genuine_receipt_and_refuses_a_forged_one(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import subprocess
    import sys

    doc = (Path(__file__).resolve().parents[2] / "docs" / "evidence.md").read_text(encoding="utf-8")
    script = doc.split("<!-- check-receipt-script -->\n```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "check.py").write_text(script)
    (tmp_path / "key.pem").write_text(keys.public_pem(evidence.public_key(settings)))
    fill(engine, settings, 23)
    auditor = Principal(None, 1, OrgKind.OPERATOR, frozenset({Role.AUDITOR}), "audit")
    with session_scope(engine) as db:
        document = evidence.receipt(db, settings, auditor, 13, None)

    def check(receipt: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        (tmp_path / "receipt.json").write_text(json.dumps(receipt))
        argv = [
            sys.executable,
            str(tmp_path / "check.py"),
            str(tmp_path / "receipt.json"),
            str(tmp_path / "key.pem"),
        ]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    assert check(document).stdout.strip() == "valid: entry 13 of 23"
    forged = copy.deepcopy(document)
    forged["entry"]["data"] = forged["entry"]["data"].replace('"i":13', '"i":31')
    forged["leaf_hash"] = merkle.leaf_hash(forged["entry"]["data"].encode()).hex()
    assert "does not lead to the signed root" in check(forged).stderr
    resigned = copy.deepcopy(document)
    resigned["tree_head"]["tree_size"] = 24
    assert check(resigned).returncode != 0


def test_monitoring_rule_changes_are_recorded_by_the_hash_of_their_expression(
    engine: Engine, settings: Settings
) -> None:
    bank = Principal(7, 3, OrgKind.INSTITUTION, frozenset({Role.RISK_OFFICER}), "risk")
    with session_scope(engine) as db:
        entry = evidence.record_rule_change(
            db, bank, 12, "edited", expression="overdue_days > 30", organisation_id=3, detail={"level": "red"}
        )
        record = json.loads(entry.data)
        assert (entry.kind, entry.subject, record["organisation_id"]) == (
            "monitoring.rule",
            "monitoring_rule:12",
            3,
        )
        assert record["payload"]["expression_sha256"] == evidence.sha256_text("overdue_days > 30")
        assert "overdue_days" not in entry.data and record["payload"]["level"] == "red"
        assert record["payload"]["by"] == {"user_id": 7, "organisation_id": 3, "api_client_id": None}


def test_heads_are_signed_again_only_when_the_log_grew(engine: Engine, settings: Settings) -> None:
    fill(engine, settings, 5)  # ends with a signed head of 5
    with session_scope(engine) as db:
        assert evidence.sign_if_grown(db, settings) is None
        evidence.append(db, "test.event", {"i": 5}, subject="test:5")
    with session_scope(engine) as db:
        head = evidence.sign_if_grown(db, settings)
        assert head is not None and head.tree_size == 6
        assert evidence.sign_if_grown(db, settings) is None
    stop = threading.Event()
    stop.set()
    evidence.run_head_signer(engine, settings, stop)  # returns at once when asked to stop
