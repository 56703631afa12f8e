"""The double-entry ledger of public money: open accounts, post balanced entries once, read balances.

Rules (issue: public money):
- every movement is an entry whose debit and credit lines balance, in 元 with 2 decimals;
- posting is idempotent: the same ``key`` twice posts once (a retried request, a double click), and the same
  key with different lines is refused;
- an account that may not go negative never does, also under concurrent postings: the accounts of an entry
  are locked first, in id order (``UPDATE … SET version = version + 1``: row locks on PostgreSQL, the single
  writer lock on SQLite), then their balances are read and checked;
- balances are derived from the lines: each line carries its account's balance after it, and
  ``check_books`` recomputes every balance from the lines and proves the books balance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xinyidai.core import evidence
from xinyidai.core.errors import Conflict, NotFound, ValidationFailed
from xinyidai.funds.models import JournalEntry, JournalLine, LedgerAccount

KINDS = ("asset", "liability", "equity", "income", "expense")
DEBIT_NORMAL = ("asset", "expense")
CENT = Decimal("0.01")


class InsufficientFunds(Conflict):
    """A posting would take an account that must hold money below zero."""

    code = "insufficient_funds"
    title = "There is not enough money in the account for this"


@dataclass(frozen=True)
class Line:
    """One side of an entry: an account (by code) and a debit or a credit in 元."""

    account: str
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)


@dataclass(frozen=True)
class BooksCheck:
    """What ``check_books`` found: how many entries and accounts, and every problem (none: balanced)."""

    entries: int
    accounts: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def open_account(
    session: Session,
    code: str,
    name: str,
    kind: str,
    *,
    owner_type: str = "",
    owner_id: int | None = None,
    allow_negative: bool = False,
) -> LedgerAccount:
    """The account with ``code``, opened if it does not exist yet (idempotent)."""
    if kind not in KINDS:
        raise ValueError(f"unknown account kind {kind!r}")
    found = session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()
    if found is not None:
        return found
    account = LedgerAccount(
        code=code,
        name=name,
        kind=kind,
        owner_type=owner_type,
        owner_id=owner_id,
        allow_negative=allow_negative,
    )
    session.add(account)
    session.flush()
    return account


def _signed(account: LedgerAccount, debit: Decimal, credit: Decimal) -> Decimal:
    return debit - credit if account.kind in DEBIT_NORMAL else credit - debit


def _check_lines(lines: Sequence[Line]) -> None:
    if len(lines) < 2:
        raise ValidationFailed("An entry needs at least two lines")
    for line in lines:
        for amount in (line.debit, line.credit):
            if amount < 0 or amount != amount.quantize(CENT):
                raise ValidationFailed("Amounts are positive yuan with at most two decimals")
        if (line.debit > 0) == (line.credit > 0):
            raise ValidationFailed("Each line is either a debit or a credit")
    debits = sum((line.debit for line in lines), Decimal(0))
    credits = sum((line.credit for line in lines), Decimal(0))
    if debits != credits:
        raise ValidationFailed(
            "Debits %(debits)s and credits %(credits)s do not balance", debits=debits, credits=credits
        )


def _same(
    entry: JournalEntry, session: Session, lines: Sequence[Line], accounts: dict[str, LedgerAccount]
) -> bool:
    stored = sorted(
        (line.account_id, line.debit, line.credit)
        for line in session.scalars(select(JournalLine).where(JournalLine.entry_id == entry.id))
    )
    asked = sorted((accounts[line.account].id, line.debit, line.credit) for line in lines)
    return stored == asked


def post(
    session: Session,
    *,
    key: str,
    kind: str,
    lines: Sequence[Line],
    posted_by: str,
    memo: str = "",
    reference: tuple[str, int] | None = None,
) -> JournalEntry:
    """Post a balanced entry once.

    Raises:
        ValidationFailed: fewer than two lines, a line both or neither debit and credit, unbalanced.
        NotFound: an account code that was never opened.
        Conflict: the key was used for a different entry.
        InsufficientFunds: an account that must hold money would fall below zero (nothing is posted).
    """
    _check_lines(lines)
    codes = sorted({line.account for line in lines})
    accounts = {
        a.code: a for a in session.scalars(select(LedgerAccount).where(LedgerAccount.code.in_(codes)))
    }
    missing = [c for c in codes if c not in accounts]
    if missing:
        raise NotFound("No ledger account %(code)s", code=missing[0])
    earlier = session.scalars(select(JournalEntry).where(JournalEntry.idempotency_key == key)).first()
    if earlier is not None:
        if not _same(earlier, session, lines, accounts):
            raise Conflict("This request was already posted with different amounts")
        return earlier
    ids = sorted(a.id for a in accounts.values())
    # The lock comes first, then the balances are read: concurrent postings queue here.
    session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id.in_(ids))
        .values(version=LedgerAccount.version + 1)
        .execution_options(synchronize_session=False)
    )
    balances = {account_id: balance_of(session, account_id) for account_id in ids}
    after: list[Decimal] = []
    for line in lines:  # every balance is checked before anything is written
        account = accounts[line.account]
        balances[account.id] += _signed(account, line.debit, line.credit)
        after.append(balances[account.id])
        if balances[account.id] < 0 and not account.allow_negative:
            raise InsufficientFunds(
                "%(account)s would fall to %(balance)s yuan",
                account=account.name,
                balance=f"{balances[account.id]:,.2f}",
            )
    entry = JournalEntry(
        idempotency_key=key,
        kind=kind,
        memo=memo,
        posted_by=posted_by,
        reference_type=reference[0] if reference else "",
        reference_id=reference[1] if reference else None,
    )
    session.add(entry)
    try:
        session.flush()
    except IntegrityError as exc:
        if "idempotency_key" not in str(exc.orig):
            raise  # not ours to explain: a real integrity fault
        # the same key posted by a concurrent request that committed first
        raise Conflict("This request is already being posted; reload to see it") from None
    for line, balance_after in zip(lines, after, strict=True):
        session.add(
            JournalLine(
                entry_id=entry.id,
                account_id=accounts[line.account].id,
                debit=line.debit,
                credit=line.credit,
                balance_after=balance_after,
            )
        )
    session.flush()
    evidence.append(
        session,
        "funds.posting",
        {
            "entry_id": entry.id,
            "key": key,
            "kind": kind,
            "lines": [{"account": x.account, "debit": x.debit, "credit": x.credit} for x in lines],
            "reference": list(reference) if reference else None,
            "posted_by_sha256": evidence.sha256_text(posted_by),
        },
        subject=f"journal_entry:{entry.id}",
    )
    return entry


def balance_of(session: Session, account_id: int) -> Decimal:
    """The account's balance (normal sign): the balance after its last line, 0 before any."""
    last = session.scalar(
        select(JournalLine.balance_after)
        .where(JournalLine.account_id == account_id)
        .order_by(JournalLine.id.desc())
        .limit(1)
    )
    return Decimal(last) if last is not None else Decimal("0.00")


def balance(session: Session, code: str) -> Decimal:
    """The balance of the account with ``code`` (NotFound if it was never opened)."""
    account = session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()
    if account is None:
        raise NotFound("No ledger account %(code)s", code=code)
    return balance_of(session, account.id)


def statement(
    session: Session, code: str, *, limit: int = 100, offset: int = 0
) -> list[tuple[JournalLine, JournalEntry]]:
    """The account's lines with their entries, newest first."""
    account = session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()
    if account is None:
        raise NotFound("No ledger account %(code)s", code=code)
    rows = session.execute(
        select(JournalLine, JournalEntry)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_id == account.id)
        .order_by(JournalLine.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(line, entry) for line, entry in rows]


def check_books(session: Session) -> BooksCheck:
    """Prove the books balance: every entry's debits equal its credits, every account's stored balances
    follow from its lines in order, and no account that must hold money is below zero."""
    problems: list[str] = []
    unbalanced = session.execute(
        select(JournalLine.entry_id, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .group_by(JournalLine.entry_id)
        .having(func.sum(JournalLine.debit) != func.sum(JournalLine.credit))
    ).all()
    problems += [f"entry {entry}: debits {d} ≠ credits {c}" for entry, d, c in unbalanced]
    entries = session.scalar(select(func.count()).select_from(JournalEntry)) or 0
    lonely = session.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .where(~select(JournalLine.id).where(JournalLine.entry_id == JournalEntry.id).exists())
    )
    if lonely:
        problems.append(f"{lonely} entries without lines")
    accounts = session.scalars(select(LedgerAccount).order_by(LedgerAccount.id)).all()
    for account in accounts:
        running = Decimal(0)
        for line in session.scalars(
            select(JournalLine).where(JournalLine.account_id == account.id).order_by(JournalLine.id)
        ):
            running += _signed(account, line.debit, line.credit)
            if running != line.balance_after:
                problems.append(
                    f"account {account.code}: line {line.id} says {line.balance_after}, lines give {running}"
                )
                break
        if running < 0 and not account.allow_negative:
            problems.append(f"account {account.code} is below zero: {running}")
    return BooksCheck(entries, len(accounts), problems)
