"""Model versions through their life on a small synthetic city: back-test against its ground truth,
activation gated by the operator's thresholds, new versions by editing, a statistical model that rates,
and each firm rated by its segment's model."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.rating_city import City, build_city
from xinyidai.cli import app
from xinyidai.core.audit import AuditRecord
from xinyidai.core.clock import utcnow
from xinyidai.core.database import get_engine, session_scope
from xinyidai.core.errors import IllegalTransition, ValidationFailed
from xinyidai.core.settings import get_settings
from xinyidai.data.lake import Lake
from xinyidai.indicators import service as indicators
from xinyidai.rating import report
from xinyidai.rating import service as rating
from xinyidai.rating.expert import default_scorecard, individual_business_scorecard
from xinyidai.rating.models import RatingModel


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """1,500 firms × 12 months, ingested, with indicator snapshots on two dates and outcomes imported."""
    return build_city(tmp_path_factory.mktemp("city"))


@pytest.fixture
def lake(city: City, tmp_path: Path) -> Lake:
    """A copy of the city's lake for one test (rating runs write into it)."""
    shutil.copytree(city.lake, tmp_path / "lake")
    return Lake(tmp_path / "lake", fsync=False)


def set_thresholds(db: Session, min_auc: str = "0.6", min_ks: str = "0.1", max_psi: str = "1") -> None:
    rating.set_thresholds(
        db, None, min_auc=min_auc, min_ks=min_ks, max_psi=max_psi, monotone_default_rate=True
    )


def edited_version(db: Session, base: RatingModel, **fields: str) -> RatingModel:
    return rating.new_expert_version(db, base.id, rating.edited_config(base.config, fields), note="疫情期间")


def test_backtest_stores_auc_ks_gini_grades_and_psi(db: Session, lake: Lake, city: City) -> None:
    model = rating.ensure_default_model(db)
    rating.backtest_model(db, lake, model.id)
    evidence = model.evidence
    assert evidence["n"] > 1000 and 0 < evidence["n_bad"] < evidence["n"]
    assert 0.6 < evidence["auc"] <= 1 and 0 < evidence["ks"] <= 1
    assert evidence["gini"] == pytest.approx(2 * evidence["auc"] - 1, abs=1e-3)
    assert [g["grade"] for g in evidence["grades"]] == ["A", "B", "C", "D"]
    assert sum(g["n"] for g in evidence["grades"]) == evidence["n"]
    assert evidence["psi"] is not None and evidence["psi_dates"] == [d.isoformat() for d in city.dates]
    assert evidence["iv"] == {}  # an expert scorecard has no bins of its own
    assert db.scalar(select(AuditRecord).where(AuditRecord.event_type == "rating.model.backtest"))


def test_backtest_without_outcomes_is_refused(db: Session, lake: Lake) -> None:
    shutil.rmtree(lake.root / "_outcomes")
    model = rating.ensure_default_model(db)
    with pytest.raises(ValidationFailed, match="no history with known outcomes"):
        rating.backtest_model(db, lake, model.id)


def test_activation_below_a_threshold_is_refused_and_changes_nothing(db: Session, lake: Lake) -> None:
    base = rating.ensure_default_model(db)
    draft = edited_version(db, base, **{"weight.tax": "10", "weight.operations": "26"})
    with pytest.raises(rating.ActivationRefused, match="Back-test the model version"):
        rating.activate_model(db, draft.id)
    rating.backtest_model(db, lake, draft.id)
    set_thresholds(db, min_auc="0.99")
    with pytest.raises(rating.ActivationRefused) as refused:
        rating.activate_model(db, draft.id)
    assert refused.value.message == "%(measure)s %(value)s is below the threshold %(threshold)s"
    assert refused.value.params["measure"] == "AUC" and refused.value.params["threshold"] == "0.99"
    assert str(refused.value).startswith("AUC 0.") and str(refused.value).endswith("below the threshold 0.99")
    assert (draft.status, base.status) == ("draft", "active") and draft.activated_at is None
    assert rating.active_model(db) is base

    set_thresholds(db, max_psi="0.000")
    with pytest.raises(rating.ActivationRefused, match=r"PSI 0\.\d+ is above the threshold 0\.00"):
        rating.activate_model(db, draft.id)


def test_activation_above_the_thresholds_retires_the_previous_version(
    db: Session, lake: Lake, city: City
) -> None:
    base = rating.ensure_default_model(db)
    draft = edited_version(db, base, **{"weight.tax": "10", "weight.operations": "26"})
    rating.backtest_model(db, lake, draft.id)
    set_thresholds(db)
    later = city.dates[-1] + timedelta(days=10)
    rating.activate_model(db, draft.id, effective_from=later)
    assert (draft.status, draft.effective_from, base.status) == ("active", later, "retired")
    assert rating.active_model(db) is draft
    activation = db.scalars(
        select(AuditRecord).where(AuditRecord.event_type == "rating.model.activate")
    ).one()
    assert activation.object_id == str(draft.id) and activation.detail["retired"] == [base.id]
    # The retired version still rates dates before the new one's effective date; the new one after it.
    rating.rate_all(db, lake, city.dates[-1])
    rating.rate_all(db, lake, later)
    before = Counter(
        pq.read_table(lake.root / "_ratings" / f"as_of={city.dates[-1]}.parquet")["model_id"].to_pylist()
    )
    after = Counter(pq.read_table(lake.root / "_ratings" / f"as_of={later}.parquet")["model_id"].to_pylist())
    assert base.id in before and draft.id not in before
    assert draft.id in after and base.id not in after
    with pytest.raises(IllegalTransition):
        rating.activate_model(db, draft.id)


def test_editing_creates_the_next_version_and_leaves_the_active_one(db: Session) -> None:
    base = rating.ensure_default_model(db)
    original = dict(base.config)
    # Weihai in the epidemic: less weight on tax, more on operations; harsher points for falling tax.
    fields = {
        "weight.tax": "10",
        "weight.operations": "26",
        "points.tax_growth_12m.0": "10",
        "cutoff.A": "780",
    }
    v2 = edited_version(db, base, **fields)
    assert (v2.name, v2.version, v2.status, v2.segment, v2.kind) == (base.name, 2, "draft", "all", "expert")
    weights = {d["dimension"]: d["weight"] for d in v2.config["dimensions"]}
    assert weights["tax"] == pytest.approx(0.10) and weights["operations"] == pytest.approx(0.26)
    tax_growth = next(
        f for d in v2.config["dimensions"] for f in d["factors"] if f["indicator"] == "tax_growth_12m"
    )
    assert tax_growth["bands"][0] == [-0.3, 10] and v2.config["cutoffs"][0] == ["A", 780.0]
    assert base.config == original and base.status == "active" and rating.active_model(db) is base
    assert edited_version(db, base).version == 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"weight.tax": "30"}, "The dimension weights must add up to 100 (they add up to %(total)s)"),
        ({"weight.tax": "lots"}, "%(name)s is not a number: %(value)s"),
        ({"points.tax_paid_12m.1": "150"}, "The points of %(name)s must be between 0 and 100"),
        ({"cutoff.B": "800"}, "Grade cut-offs must fall from the best grade to the worst"),
    ],
)
def test_an_invalid_edit_is_refused_naming_the_problem(
    db: Session, fields: dict[str, str], message: str
) -> None:
    base = rating.ensure_default_model(db)
    before = db.scalar(select(func.count()).select_from(RatingModel))
    with pytest.raises(rating.ModelConfigError) as refused:
        edited_version(db, base, **fields)
    assert refused.value.message == message
    assert db.scalar(select(func.count()).select_from(RatingModel)) == before


def test_a_statistical_model_trains_rates_and_explains(db: Session, lake: Lake, city: City) -> None:
    rating.ensure_default_model(db)
    model = rating.train_statistical_model(db, lake)
    assert (model.kind, model.status, model.version, model.segment) == ("statistical", "draft", 1, "all")
    assert model.evidence["auc"] > 0.7 and model.evidence["training"]["auc"] > 0.7
    assert model.evidence["iv"] and all(v >= 0 for v in model.evidence["iv"].values())
    assert [g for g, _ in model.config["cutoffs"]] == ["A", "B", "C", "D"] and model.config["features"]
    set_thresholds(db)
    rating.activate_model(db, model.id, effective_from=city.dates[0])
    # Individual businesses keep their own expert model: the statistical model of "all" rates the others.
    run = rating.rate_all(db, lake, city.dates[-1]).run
    table = pq.read_table(lake.root / "_ratings" / f"as_of={city.dates[-1]}.parquet")
    rated = table.filter(pc.equal(table["model_id"], model.id))
    scores = rated["score"].to_pylist()
    assert rated.num_rows > 1000 and run.model_id == model.id
    assert min(scores) >= 0 and max(scores) <= 1000
    assert set(rated["grade"].to_pylist()) <= {"A", "B", "C", "D"}
    uscc = next(r["uscc"] for r in rated.to_pylist() if r["knocked_out"] < 0 and r["grade"] in "BC")
    own = rating.enterprise_rating(db, lake, uscc)
    assert own.model == f"{model.name} v1" and own.reasons["down"] and own.reasons["up"]
    assert {r["indicator"] for r in own.reasons["down"]} <= set(model.evidence["iv"])
    assert all(0 <= r["points"] <= 100 and r["impact"] <= 0 for r in own.reasons["down"])
    credit = report.build_report(db, lake, uscc)
    assert credit.rating.grade == own.grade and credit.rating.model == own.model
    assert [r.indicator for r in credit.rating.down] == [r["indicator"] for r in own.reasons["down"]]


def test_each_firm_is_rated_by_its_segments_model_or_the_all_segments(
    db: Session, lake: Lake, city: City
) -> None:
    default = rating.ensure_default_model(db)
    individual = rating.active_model(db, "individual_business")
    assert individual is not None and individual.name == "个体工商户专家评分卡"
    assert {d["dimension"] for d in individual.config["dimensions"]}.isdisjoint(
        {"innovation", "trade", "finance"}
    )
    day = city.dates[-1]
    rating.rate_all(db, lake, day)
    snapshot = indicators.load_snapshot(lake, day).select(["uscc", "is_individual_business"]).to_pylist()
    is_individual = {r["uscc"]: bool(r["is_individual_business"]) for r in snapshot}
    rated = pq.read_table(lake.root / "_ratings" / f"as_of={day}.parquet").to_pylist()
    assert [r["uscc"] for r in rated] == sorted(r["uscc"] for r in rated)  # the snapshot's order
    assert {r["model_id"] for r in rated if is_individual[r["uscc"]]} == {individual.id}
    assert {r["model_id"] for r in rated if not is_individual[r["uscc"]]} == {default.id}
    assert 0 < sum(is_individual.values()) < len(rated)


def test_a_segment_without_a_model_of_its_own_falls_back_to_all(db: Session, lake: Lake, city: City) -> None:
    shipped = individual_business_scorecard().to_dict()
    db.add(
        RatingModel(name="x", kind="expert", segment="individual_business", status="draft", config=shipped)
    )
    expert = default_scorecard().to_dict()
    db.add(
        RatingModel(
            name="y", kind="expert", segment="all", status="active", config=expert, activated_at=utcnow()
        )
    )
    db.flush()
    rating.rate_all(db, lake, city.dates[-1])
    assert db.scalar(select(func.count()).select_from(RatingModel)) == 2  # no shipped model added
    rated = pq.read_table(lake.root / "_ratings" / f"as_of={city.dates[-1]}.parquet")
    assert set(rated["model_id"].to_pylist()) == {
        db.scalars(select(RatingModel.id).where(RatingModel.name == "y")).one()
    }


def test_thresholds_are_checked_and_audited(db: Session) -> None:
    assert rating.current_thresholds(db).min_auc == Decimal("0.700")
    row = rating.set_thresholds(
        db, None, min_auc="0.75", min_ks="0.35", max_psi="0.2", monotone_default_rate=False
    )
    assert (row.min_auc, row.min_ks, row.max_psi, row.monotone_default_rate) == (
        Decimal("0.750"), Decimal("0.350"), Decimal("0.200"), False)  # fmt: skip
    with pytest.raises(ValidationFailed) as refused:
        rating.set_thresholds(
            db, None, min_auc="1.5", min_ks="0.3", max_psi="0.2", monotone_default_rate=True
        )
    assert refused.value.field == "min_auc"
    record = db.scalars(select(AuditRecord).where(AuditRecord.event_type == "rating.thresholds.update")).one()
    assert record.actor_username == "cli" and record.detail["after"]["min_auc"] == "0.750"


def test_the_command_line_trains_backtests_and_activates(
    city: City, tmp_path: Path, database_url: str, engine: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XYD_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XYD_DATABASE_URL", database_url)
    monkeypatch.setenv("XYD_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        (tmp_path / "state").mkdir()
        shutil.copytree(city.lake, tmp_path / "state" / "lake")
        shutil.rmtree(tmp_path / "state" / "lake" / "_outcomes")
        runner = CliRunner()
        assert runner.invoke(app, ["rate", "--as-of", city.dates[-1].isoformat()]).exit_code == 0
        refused = runner.invoke(app, ["models", "backtest", "1"])
        assert refused.exit_code == 1 and "没有已知违约结果" in refused.output, refused.output
        assert runner.invoke(app, ["models", "outcomes", str(city.truth)]).exit_code == 0
        tested = runner.invoke(app, ["models", "backtest", "1"])
        assert tested.exit_code == 0 and "AUC 0." in tested.output, tested.output
        trained = runner.invoke(app, ["models", "train", "--segment", "individual_business"])
        assert trained.exit_code == 0 and "统计评分卡 v1" in trained.output, trained.output
        with session_scope(get_engine(database_url)) as db:
            model_id = db.scalars(select(RatingModel.id).where(RatingModel.kind == "statistical")).one()
            rating.set_thresholds(
                db, None, min_auc="0.5", min_ks="0", max_psi="9", monotone_default_rate=False
            )
        activated = runner.invoke(
            app, ["models", "activate", str(model_id), "--effective-from", "2026-12-01"]
        )
        assert activated.exit_code == 0 and "2026-12-01" in activated.output, activated.output
        with session_scope(get_engine(database_url)) as db:
            model = db.get(RatingModel, model_id)
            assert model is not None and model.status == "active" and model.segment == "individual_business"
            record = db.scalars(
                select(AuditRecord).where(AuditRecord.event_type == "rating.model.activate")
            ).one()
            assert record.actor_username == "cli"
    finally:
        get_settings.cache_clear()
