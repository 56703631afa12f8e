"""The ``xinyidai`` command: serve, initialise the database, create users, build and run the demo."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from xinyidai.core.errors import XydError
from xinyidai.core.settings import Settings, get_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.progress import TaskID
    from sqlalchemy.orm import Session

    from xinyidai.data.ingest.results import BatchResult, IngestProgress
    from xinyidai.data.lake import Lake
    from xinyidai.rating.models import RatingModel

app = typer.Typer(help="xinyidai 信易贷 platform", no_args_is_help=True, add_completion=False)
console = Console()


def _settings() -> Settings:
    return get_settings()


def _as_of_date(text: str | None) -> date:
    """``--as-of``: a YYYY-MM-DD date, or today in Asia/Shanghai; exit 2 if it cannot be read."""
    from xinyidai.core.clock import today_local

    try:
        return date.fromisoformat(text) if text else today_local()
    except ValueError:
        console.print("[red]日期格式不正确：--as-of 请用 YYYY-MM-DD[/red]")
        raise typer.Exit(2) from None


def _prepare(settings: Settings) -> None:
    """Create the state folder and bring the database to the newest migration."""
    from xinyidai.core.migrations import upgrade

    settings.ensure_home()
    upgrade(settings.database_url)
    from xinyidai.funds.subscriptions import register as register_funds

    register_funds()  # approved loans join funds' schemes (the demo and jobs approve loans too)


@app.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema to the newest migration."""
    settings = _settings()
    _prepare(settings)
    console.print(f"[green]数据库已就绪[/green] {settings.database_url}")


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 0,
    host: Annotated[str, typer.Option(help="Address to bind")] = "",
    workers: Annotated[int, typer.Option(help="Worker processes (one per core is a good start)")] = 1,
) -> None:
    """Serve the platform (migrating the database first)."""
    settings = _settings()
    _prepare(settings)
    _serve(settings, host or settings.host, port or settings.port, workers=workers)


def _serve(settings: Settings, host: str, port: int, *, workers: int = 1) -> None:
    import uvicorn

    from xinyidai.web.app import create_app

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    console.print(f"xinyidai 信易贷平台: [bold]http://{host}:{port}[/bold]  (Ctrl+C 停止)")
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,
    }
    if workers > 1:
        # Each worker process builds its own app from the same XYD_* environment.
        os.environ.update(
            {
                "XYD_HOME": str(settings.home),
                "XYD_DATABASE_URL": settings.database_url,
                "XYD_ENVIRONMENT": settings.environment,
            }
        )
        uvicorn.run("xinyidai.web.app:create_app", factory=True, workers=workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Option(help="Login name")],
    role: Annotated[str, typer.Option(help="Role, e.g. operator_admin")],
    display_name: Annotated[str, typer.Option(help="Person's name")],
    organisation_id: Annotated[int, typer.Option(help="Organisation id; 0 = the platform operator")] = 0,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input")] = False,
) -> None:
    """Create a user. Without --password-stdin you are prompted (hidden input).

    The first operator administrator of a new installation is created this way; if the platform
    operator organisation does not exist yet it is created.
    """
    from xinyidai.accounts import service as accounts
    from xinyidai.accounts.models import Organisation
    from xinyidai.core.access import OrgKind
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.errors import XydError
    from xinyidai.core.i18n import translate

    settings = _settings()
    _prepare(settings)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        with session_scope(get_engine(settings.database_url)) as session:
            if organisation_id:
                org = session.get(Organisation, organisation_id)
                if org is None:
                    raise typer.BadParameter(f"机构 {organisation_id} 不存在")
            else:
                org = session.query(Organisation).filter_by(kind=OrgKind.OPERATOR.value).first()
                if org is None:
                    org = Organisation(kind=OrgKind.OPERATOR.value, name="信易贷平台运营中心")
                    session.add(org)
                    session.flush()
            invited = accounts.create_user(
                session, org, username=username, display_name=display_name, roles=[role], password=password
            )
            console.print(f"[green]已创建用户[/green] {invited.user.username}（{org.name}）")
    except XydError as exc:
        console.print(f"[red]{translate(exc.message, exc.params)}[/red]")
        raise typer.Exit(1) from None


@app.command()
def demo(
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after building")] = True,
    port: Annotated[int, typer.Option(help="Port to listen on")] = 0,
) -> None:
    """Build the demo city into XYD_HOME, print a login for every role, then serve."""
    from xinyidai import demo as demo_city
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.i18n import gettext
    from xinyidai.web.labels import ROLE_LABELS

    settings = _settings()
    _prepare(settings)
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        built = demo_city.is_built(session)
    if not built:
        from rich.progress import Progress, SpinnerColumn, TextColumn

        from xinyidai.data import service as data

        size = f"{demo_city.CITY_ENTERPRISES} 家企业，{demo_city.CITY_MONTHS} 个月"
        console.print(f"正在生成演示城市（{size}）并导入数据湖……")
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
        ) as bar:
            task = bar.add_task("生成部门报送数据")

            def progress(source: str, done: int, total: int) -> None:
                bar.update(task, description=f"生成部门报送数据：{source}")

            with session_scope(engine) as session:
                bar.update(task, description="生成部门报送数据")
                demo_city.build_city(
                    session,
                    data.open_lake(settings),
                    settings.home / "demo-city",
                    progress=progress,
                    report_dir=settings.quality_reports_dir,
                    home=settings.home,
                )
    with session_scope(engine) as session:
        logins = demo_city.build(session)
        example = demo_city.unregistered_example(session)
    with session_scope(engine) as session:
        from xinyidai import demo_delivery

        # SMS choices and the bank's webhook first, so the notifications the demo raises next go out too.
        demo_delivery.fill_delivery(session, settings, port=port or settings.port)
    with console.status("正在计算企业指标并评级……"), session_scope(engine) as session:
        from xinyidai.data import service as data_service

        demo_city.rate_city(session, data_service.open_lake(settings))
        _import_demo_outcomes(settings)
    with console.status("正在布置融资对接演示数据……"), session_scope(engine) as session:
        from xinyidai import demo_market

        demo_market.fill_market(session, data_service.open_lake(settings), settings)
    with console.status("正在布置担保基金、转贷、贴息与政策演示数据……"), session_scope(engine) as session:
        from xinyidai import demo_funds, demo_policies, demo_programmes

        demo_funds.fill_funds(session, settings)  # covers the approved loans, pays a claim
        demo_programmes.fill_programmes(session, settings)  # bridge loans and subsidies on the loan book
        demo_policies.fill_policies(session, settings)
        from xinyidai import demo_subplatforms

        demo_subplatforms.fill_subplatforms(session)  # 环翠区 and foreign-trade sub-platforms, featured items
    with session_scope(engine) as session:
        from xinyidai import demo_compliance

        demo_compliance.fill_compliance(session, data_service.open_lake(settings), settings)
    with console.status("正在开启风险监测规则并回测……"), session_scope(engine) as session:
        from xinyidai import demo_monitoring

        demo_monitoring.fill_monitoring(session, data_service.open_lake(settings))
    with console.status("正在汇总融资统计……"), session_scope(engine) as session:
        from xinyidai.consoles.statistics_refresh import refresh as refresh_statistics

        # after every fill: the government console's figures come from this set ("figures as of …")
        refresh_statistics(session, data_service.open_lake(settings).root, triggered_by="demo")
    with session_scope(engine) as session:
        from xinyidai.market.loan_book import export_loan_book, previous_month, this_month
        from xinyidai.policies.investment_export import export_investments

        lake = data_service.open_lake(settings)
        if not data_service.last_receipt_date(lake, "platform_loans"):  # the platform's own records, once
            export_loan_book(session, lake, previous_month(), settings.home / "exports")
            export_investments(session, lake, this_month(), settings.home / "exports")
    with session_scope(engine) as session:  # a signed tree head over everything the demo recorded
        from xinyidai.core.evidence import service as evidence

        evidence.sign_if_grown(session, settings)
    port = port or settings.port
    table = Table(title=f"演示账号（密码均为 {demo_city.DEMO_PASSWORD}）", show_lines=False)
    for column in ("角色", "用户名", "姓名", "所属机构", "TOTP 密钥（管理员二次验证）"):
        table.add_column(column, overflow="fold")
    for login in logins:
        table.add_row(
            gettext(ROLE_LABELS[login.role.value]),
            login.username,
            login.display_name,
            login.organisation,
            login.totp_secret or "—",
        )
    console.print(table)
    console.print(
        "管理员登录时还需输入动态验证码：把 TOTP 密钥加入身份验证器应用，"
        "或运行 [bold]xinyidai totp-code 用户名[/bold] 查看当前验证码。"
    )
    if example is not None:
        console.print(
            f"试试企业注册：统一社会信用代码 [bold]{example.uscc}[/bold]，法定代表人 "
            f"[bold]{example.legal_representative}[/bold]"
        )
    console.print(f"数据目录：{settings.home}")
    if serve:
        _serve(settings, settings.host, port)


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the delivery into (one sub-folder per source)")],
    enterprises: Annotated[int, typer.Option(min=1, max=5_000_000, help="Number of firms")] = 5000,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files")] = 2026,
    end_month: Annotated[str, typer.Option(help="Last month delivered, YYYY-MM")] = "2026-10",
    dirt: Annotated[float, typer.Option(min=0.0, max=0.5, help="Share of dirty rows")] = 0.02,
) -> None:
    """Generate a synthetic city: the files its departments would deliver, plus ground truth in _truth/."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from xinyidai.data.synth import generate_city

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(task: str, completed: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=completed, total=total)

        try:
            summary = generate_city(
                out,
                enterprises=enterprises,
                months=months,
                seed=seed,
                end_month=end_month,
                dirt=dirt,
                progress=progress,
            )
        except (FileExistsError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
    console.print(
        f"[green]已生成[/green] {enterprises} 家企业 × {months} 个月 → {out}"
        f"（{sum(summary.rows.values()):,} 行，{summary.elapsed_seconds:.1f} 秒）"
    )


@app.command()
def ingest(
    source: Annotated[
        str | None, typer.Argument(help="Source id, e.g. tax_monthly (see the catalogue)")
    ] = None,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Delivered files (CSV, CSV.GZ, XLSX, JSONL)")
    ] = None,
    all_dir: Annotated[
        Path | None, typer.Option("--all", help="A delivery folder: one sub-folder per source")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Who delivered the data")] = None,
) -> None:
    """Ingest department files into the lake; valid rows become visible as a batch, the rest quarantined."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from xinyidai.core.database import get_engine, session_factory
    from xinyidai.core.i18n import translate
    from xinyidai.data import service as data

    settings = _settings()
    _prepare(settings)
    if (all_dir is None) == (source is None):
        console.print("[red]请指定数据源和文件，或用 --all 指定报送目录[/red]")
        raise typer.Exit(2)
    lake = data.open_lake(settings)
    session = session_factory(get_engine(settings.database_url))()
    results = []
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(report: IngestProgress) -> None:
                name = f"{report.source_id} {report.phase}"
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=report.total or None)
                bar.update(tasks[name], completed=report.done, total=report.total or None)

            if all_dir is not None:
                results = data.ingest_directory(
                    all_dir, lake=lake, session=session, provider=provider, progress=progress
                )
            else:
                assert source is not None
                results = [
                    data.ingest_files(
                        source, files or [], lake=lake, session=session, provider=provider, progress=progress
                    )
                ]
    except XydError as exc:
        console.print(f"[red]{translate(exc.message, exc.params)}[/red]")
        raise typer.Exit(1) from None
    finally:
        session.close()
    table = Table(title="导入结果")
    for column in ("数据源", "批次", "接收行数", "入湖", "隔离", "期间", "结果"):
        table.add_column(column, overflow="fold")
    by_source: dict[str, list[BatchResult]] = {}
    for result in results:
        by_source.setdefault(result.source_id, []).append(result)
    for source_id, batches in by_source.items():
        periods = sorted({p for r in batches for p in r.periods})
        span = f"{periods[0]} … {periods[-1]}" if len(periods) > 1 else "".join(periods)
        failed = sum(not r.ok for r in batches)
        table.add_row(
            source_id,
            str(len(batches)),
            f"{sum(r.rows_read for r in batches):,}",
            f"{sum(r.rows_accepted for r in batches):,}",
            f"{sum(r.rows_rejected for r in batches):,}",
            span,
            f"[red]{failed} 个失败[/red]" if failed else "[green]已发布[/green]",
        )
    console.print(table)
    for result in results:
        for notice in result.notices:
            console.print(f"[yellow]{result.source_id}[/yellow] {translate(notice.message, notice.params)}")
        if result.error is not None:
            console.print(
                f"[red]{result.source_id}[/red] {translate(result.error.message, result.error.params)}"
            )
    if any(not r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def indicators(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Compute as of this date, YYYY-MM-DD (default: today)")
    ] = None,
) -> None:
    """Compute every indicator for every enterprise as of a date into a Parquet snapshot of the lake."""

    from xinyidai.data import service as data
    from xinyidai.indicators import service as indicator_service

    settings = _settings()
    _prepare(settings)
    day = _as_of_date(as_of)
    with console.status(f"正在计算 {day} 的企业指标……"):
        run = indicator_service.run_indicators(data.open_lake(settings), day)
    console.print(
        f"[green]已计算[/green] {run.enterprises:,} 家企业 × {run.indicators} 项指标（截至 {run.as_of}，"
        f"{run.seconds:.1f} 秒）→ {run.path}"
    )


@app.command()
def rate(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Rate as of this date, YYYY-MM-DD (default: today)")
    ] = None,
    recompute: Annotated[
        bool, typer.Option(help="Recompute the indicators even if a snapshot exists")
    ] = False,
) -> None:
    """Rate every enterprise with the active model; keep grade changes; tell downgraded enterprises."""

    from xinyidai.accounts import service as accounts
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.i18n import translate
    from xinyidai.data import service as data
    from xinyidai.market import service as market
    from xinyidai.rating import report_store
    from xinyidai.rating import service as rating

    settings = _settings()
    _prepare(settings)
    day = _as_of_date(as_of)
    try:
        with (
            console.status(f"正在评级（截至 {day}）……"),
            session_scope(get_engine(settings.database_url)) as session,
        ):
            lake = data.open_lake(settings)
            rated = rating.rate_all(session, lake, day, recompute_indicators=recompute)
            notified = accounts.notify_downgrades(session, rated.changes)
            market.notify_lenders_of_downgrades(session, rated.changes)
            report_store.prepare_store(lake, day)  # so nobody waits for the first report of the day
            from xinyidai.monitoring import service as monitoring

            watched = monitoring.run_monitoring(session, lake, day, trigger="pipeline")  # the last step
            run = rated.run
            grades = "，".join(f"{g} 级 {n:,}" for g, n in run.grades.items())
            summary = (
                f"[green]已评级[/green] {run.enterprises:,} 家企业（截至 {run.as_of}）：{grades}；"
                f"上调 {run.upgrades:,}，下调 {run.downgrades:,}（已通知 {notified} 家平台企业）；"
                f"耗时 {run.elapsed_seconds} 秒\n"
                f"[green]风险监测[/green] {watched.rules:,} 条规则、{watched.enterprises:,} 家被监测企业："
                f"新预警 {watched.alerts_raised:,}，条件已解除 {watched.alerts_cleared:,}"
            )
    except XydError as exc:
        console.print(f"[red]{translate(exc.message, exc.params)}[/red]")
        raise typer.Exit(1) from None
    console.print(summary)


quality_app = typer.Typer(help="Data quality: run the rules over the lake, list them", no_args_is_help=True)
app.add_typer(quality_app, name="quality")


@quality_app.command("run")
def quality_run(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Run as of this date, YYYY-MM-DD (default: today)")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Month to check, YYYY-MM (default: the newest delivered)")
    ] = None,
) -> None:
    """Run every quality rule over the lake, save the results, write the dated report, alert data admins."""
    from datetime import date

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.data import service as data

    settings = _settings()
    _prepare(settings)
    try:
        day = date.fromisoformat(as_of) if as_of else None
        if period is not None:
            date.fromisoformat(f"{period}-01")
    except ValueError:
        console.print("[red]日期格式不正确：--as-of 请用 YYYY-MM-DD，--period 请用 YYYY-MM[/red]")
        raise typer.Exit(2) from None
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar,
        session_scope(get_engine(settings.database_url)) as session,
    ):
        task = bar.add_task("质量检查", total=None)

        def progress(source_id: str, done: int, total: int) -> None:
            bar.update(task, description=f"质量检查：{source_id}", completed=done, total=total)

        run = data.run_quality(
            session,
            data.open_lake(settings),
            as_of=day,
            period=period,
            triggered_by="cli",
            report_dir=settings.quality_reports_dir,
            home=settings.home,
            progress=progress,
        )
        failed = [r for r in run.results if not r.passed]
        summary = (
            f"检查日期 {run.as_of}，所属期 {run.period or '—'}：{run.rules_total} 条规则，"
            f"{run.rules_failed} 条未通过（阻断 {run.rules_blocking} 条），通过率 {run.score}%，"
            f"耗时 {run.elapsed_seconds} 秒"
        )
        report = settings.home / run.report_path if run.report_path else None
    table = Table(title="未通过的规则")
    for column in ("规则", "级别", "检查行数", "未通过", "通过率"):
        table.add_column(column, overflow="fold")
    for result in failed[:40]:
        table.add_row(
            result.rule_id,
            result.severity,
            f"{result.rows_checked:,}",
            f"{result.rows_failed:,}",
            f"{float(result.pass_rate):.2%}",
        )
    if failed:
        console.print(table)
    console.print(summary)
    if report is not None:
        console.print(f"报告：{report}")


@quality_app.command("rules")
def quality_rules() -> None:
    """List the quality rule library by source and kind."""
    from collections import Counter

    from xinyidai.data import service as data

    rules = data.rule_library()
    counts = Counter((r.source_id, r.kind.value) for r in rules)
    kinds = sorted({k for _, k in counts})
    table = Table(title=f"数据质量规则（共 {len(rules)} 条）")
    table.add_column("数据源")
    for kind in kinds:
        table.add_column(kind, justify="right")
    for source_id in dict.fromkeys(r.source_id for r in rules):
        table.add_row(source_id, *(str(counts.get((source_id, k), "")) for k in kinds))
    console.print(table)


models_app = typer.Typer(help="Rating models: outcomes, train, back-test, activate", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _import_demo_outcomes(settings: Settings) -> None:
    """The demo city's ground truth as the lake's outcomes, so its models can be back-tested."""
    from xinyidai.data import service as data
    from xinyidai.rating import service as rating

    truth = settings.home / "demo-city" / "_truth"
    if truth.is_dir():
        rating.import_outcomes(data.open_lake(settings), truth)


def _models_command(work: Callable[[Session, Lake], str]) -> None:
    """Run one rating-model use case in a unit of work; print its summary, or the error and exit 1."""
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.i18n import translate
    from xinyidai.data import service as data

    settings = _settings()
    _prepare(settings)
    try:
        with session_scope(get_engine(settings.database_url)) as session:
            summary = work(session, data.open_lake(settings))
    except XydError as exc:
        console.print(f"[red]{translate(exc.message, exc.params)}[/red]")
        raise typer.Exit(1) from None
    console.print(summary)


def _evidence_line(model: RatingModel) -> str:
    e = model.evidence
    psi = "—" if e.get("psi") is None else f"{e['psi']:.3f}"
    return (
        f"{model.name} v{model.version}（#{model.id}，{model.segment}）："
        f"AUC {e.get('auc')}，KS {e.get('ks')}，Gini {e.get('gini')}，PSI {psi}；违约率按等级 "
        + "，".join(f"{g['grade']} {g['default_rate'] or 0:.2%}" for g in e.get("grades", []))
    )


@models_app.command("outcomes")
def models_outcomes(truth: Annotated[Path, typer.Argument(help="A synthetic city's _truth folder")]) -> None:
    """Load known outcomes (the synthetic city's ground truth) into the lake for back-tests and training."""
    from xinyidai.rating import service as rating

    def work(session: Session, lake: Lake) -> str:
        return f"[green]已导入[/green] {rating.import_outcomes(lake, truth):,} 行违约标签"

    _models_command(work)


@models_app.command("train")
def models_train(
    segment: Annotated[str, typer.Option(help="all, enterprise or individual_business")] = "all",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Use history up to YYYY-MM-DD")] = None,
) -> None:
    """Train a statistical scorecard on the lake's history; save it as a back-tested draft version."""
    from xinyidai.rating import service as rating

    day = _as_of_date(as_of) if as_of else None

    def work(session: Session, lake: Lake) -> str:
        model = rating.train_statistical_model(session, lake, segment=segment, as_of=day)
        return "[green]已训练[/green] " + _evidence_line(model)

    _models_command(work)


@models_app.command("backtest")
def models_backtest(model_id: Annotated[int, typer.Argument(help="Model version id")]) -> None:
    """Back-test a model version over the lake's history and store the evidence."""
    from xinyidai.rating import service as rating

    def work(session: Session, lake: Lake) -> str:
        return "[green]已回测[/green] " + _evidence_line(rating.backtest_model(session, lake, model_id))

    _models_command(work)


@models_app.command("activate")
def models_activate(
    model_id: Annotated[int, typer.Argument(help="Model version id")],
    effective_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Activate a back-tested draft version if it meets the thresholds; the one it replaces is retired."""
    from xinyidai.rating import service as rating

    day = _as_of_date(effective_from)

    def work(session: Session, lake: Lake) -> str:
        model = rating.activate_model(session, model_id, effective_from=day)
        name = f"{model.name} v{model.version}（{model.segment}）"
        return f"[green]已激活[/green] {name}，{model.effective_from} 起生效"

    _models_command(work)


market_app = typer.Typer(help="The financing marketplace's daily jobs", no_args_is_help=True)
app.add_typer(market_app, name="market")


@market_app.command("export-loans")
def market_export_loans(
    period: Annotated[str, typer.Option(help="The month YYYY-MM (default: the month before this one)")] = "",
) -> None:
    """Deliver the platform's own records of a month to the lake for the indicators: its loan book
    (platform_loans) and government funds' investments (fund_investments)."""
    from xinyidai.core.database import get_engine, session_factory
    from xinyidai.data import service as data
    from xinyidai.market.loan_book import export_loan_book, previous_month
    from xinyidai.policies.investment_export import export_investments

    settings = _settings()
    _prepare(settings)
    period = period or previous_month()
    if len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit():
        console.print(f"[red]月份格式应为 YYYY-MM：{period}[/red]")
        raise typer.Exit(2)
    session = session_factory(get_engine(settings.database_url))()
    try:
        batch = export_loan_book(session, data.open_lake(settings), period, settings.home / "exports")
        investments = export_investments(session, data.open_lake(settings), period, settings.home / "exports")
    finally:
        session.close()
    console.print(f"平台贷款记录 {period}：{batch.outcome}，{batch.rows_accepted} 条")
    if investments is not None:
        console.print(f"政府基金投资记录 {period}：{investments.outcome}，{investments.rows_accepted} 条")
    if batch.error or (investments is not None and investments.error):
        raise typer.Exit(1)


@market_app.command("daily")
def market_daily() -> None:
    """Expire needs past their date and remind institutions of applications waiting past their deadline."""
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.market import service as market

    settings = _settings()
    _prepare(settings)
    with session_scope(get_engine(settings.database_url)) as session:
        expired = market.expire_needs(session)
        reminded = market.remind_overdue(session)
    console.print(f"已过期需求 {expired} 条；已提醒超时申请 {reminded} 件")


compliance_app = typer.Typer(help="Credit-reporting compliance: objections' deadlines", no_args_is_help=True)
app.add_typer(compliance_app, name="compliance")


@compliance_app.command("daily")
def compliance_daily() -> None:
    """Close objections whose corrected data arrived; remind departments; escalate overdue ones."""
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.data import service as data_service
    from xinyidai.rating import objections

    settings = _settings()
    _prepare(settings)
    with session_scope(get_engine(settings.database_url)) as session:
        corrected = objections.close_corrected(session, data_service.open_lake(settings))
        run = objections.remind_and_escalate(
            session, remind_working_days=settings.objection_remind_working_days
        )
    console.print(f"异议：已更正关闭 {corrected} 件；已提醒 {run.reminded} 件；已超期上报 {run.escalated} 件")


retention_app = typer.Typer(help="Retention: remove records kept past their period", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


@retention_app.command("enforce")
def retention_enforce(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what has expired")] = False,
) -> None:
    """Remove expired negative records, report queries and audit records (the trail stays verifiable)."""
    from xinyidai.core.audit import verify_chain
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.data import service as data_service
    from xinyidai.market import retention

    settings = _settings()
    _prepare(settings)
    policy = retention.RetentionPolicy.of(settings)
    with session_scope(get_engine(settings.database_url)) as session:
        run = retention.enforce(session, data_service.open_lake(settings), policy, dry_run=dry_run)
        intact, _broken = verify_chain(session)
    names = {
        "negative_records": "负面记录",
        "report_queries": "报告查询记录",
        "audit_records": "安全审计记录",
    }
    for kind, label in names.items():
        if dry_run:
            console.print(f"{label}：已过期 {run.expired[kind]} 条（试运行，未删除）")
        else:
            console.print(f"{label}：已过期 {run.expired[kind]} 条，已删除 {run.removed[kind]} 条")
    if not intact:
        console.print("[red]审计日志哈希链校验失败[/red]")
        raise typer.Exit(1)


monitor_app = typer.Typer(
    help="Risk monitoring: run the active rules, backtest a rule set", no_args_is_help=True
)
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("run")
def monitor_run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Data as of this date, YYYY-MM-DD")] = None,
) -> None:
    """Evaluate every active rule over every watched enterprise; raise, refresh and clear alerts."""
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.data import service as data
    from xinyidai.monitoring import service as monitoring

    settings = _settings()
    _prepare(settings)
    day = _as_of_date(as_of)
    with (
        console.status(f"正在运行风险监测（截至 {day}）……"),
        session_scope(get_engine(settings.database_url)) as s,
    ):
        run = monitoring.run_monitoring(s, data.open_lake(settings), day, trigger="manual")
        line = (
            f"[green]风险监测[/green] {run.rules:,} 条规则、{run.enterprises:,} 家被监测企业："
            f"命中 {run.hits:,}，新预警 {run.alerts_raised:,}，条件已解除 {run.alerts_cleared:,}；"
            f"耗时 {run.seconds} 秒"
        )
    console.print(line)


funds_app = typer.Typer(help="Public money: funds, programmes and their ledger", no_args_is_help=True)
app.add_typer(funds_app, name="funds")


@funds_app.command("check")
def funds_check() -> None:
    """Prove the ledger of public money balances; exit 1 naming every problem found."""
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.funds import service as funds

    settings = _settings()
    _prepare(settings)
    with session_scope(get_engine(settings.database_url)) as session:
        check = funds.check_books(session)
    if check.ok:
        console.print(f"[green]账目平衡[/green]：{check.entries} 笔分录，{check.accounts} 个账户")
        return
    console.print(f"[red]账目不平衡[/red]：发现 {len(check.problems)} 个问题")
    for problem in check.problems:
        console.print(f"  - {problem}", markup=False, highlight=False)
    raise typer.Exit(1)


@app.command("totp-code")
def totp_code(username: str) -> None:
    """Print a demo administrator's current TOTP code (demo and development installations only)."""
    from sqlalchemy import select

    from xinyidai.accounts.models import User
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.security import totp_now

    settings = _settings()
    if settings.environment not in ("development", "demo", "test"):
        console.print("[red]生产环境不提供此命令[/red]")
        raise typer.Exit(1)
    with session_scope(get_engine(settings.database_url)) as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.totp_secret:
            console.print("[red]该用户不存在或未启用二次验证[/red]")
            raise typer.Exit(1)
        console.print(totp_now(user.totp_secret))


@app.command("verify-audit")
def verify_audit() -> None:
    """Walk the audit trail's hash chain and report whether it is intact."""
    from xinyidai.core.audit import verify_chain
    from xinyidai.core.database import get_engine, session_scope

    settings = _settings()
    with session_scope(get_engine(settings.database_url)) as session:
        intact, broken = verify_chain(session)
    if intact:
        console.print("[green]审计日志哈希链完整[/green]")
    else:
        console.print(f"[red]审计日志在第 {broken} 条记录处被篡改[/red]")
        raise typer.Exit(1)


notify_app = typer.Typer(help="Notification delivery: SMS and webhooks", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("deliver")
def notify_deliver(
    loop: Annotated[bool, typer.Option("--loop", help="Keep delivering until interrupted")] = False,
) -> None:
    """Send the SMS and webhook deliveries that are due (one pass, or ``--loop``); failures are retried
    with back-off and, after about a day, given up with an in-site notice to the operator."""
    import threading

    from xinyidai.core.database import get_engine
    from xinyidai.core.delivery import service as delivery

    settings = _settings()
    _prepare(settings)
    engine = get_engine(settings.database_url)
    if loop:
        stop = threading.Event()
        console.print("持续投递中，按 Ctrl+C 停止")
        try:
            delivery.run_worker(engine, settings, stop)
        except KeyboardInterrupt:
            stop.set()
        return
    run = delivery.deliver_due(engine, settings, limit=500)
    console.print(f"已处理 {run.claimed} 条：送达 {run.delivered}，稍后重试 {run.retrying}，放弃 {run.dead}")
    for error in run.errors[:20]:
        console.print(f"[yellow]{error}[/yellow]")


evidence_app = typer.Typer(
    help="The tamper-evident evidence log: verify it, sign its head, check receipts", no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence")


@evidence_app.command("verify")
def evidence_verify() -> None:
    """Re-check the whole log; name the first entry edited, deleted, inserted or reordered (exit 1)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.evidence import service as evidence
    from xinyidai.core.i18n import translate

    settings = _settings()
    _prepare(settings)
    engine = get_engine(settings.database_url)
    with session_scope(engine) as session:
        key = evidence.public_key(settings)
        total = evidence.log_size(session)
        columns = (TextColumn("核验证据日志"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("verify", total=total)
            report = evidence.verify(session, key, progress=lambda n: progress.advance(task, n))
    if report.finding is not None:
        console.print(f"[red]{translate(report.finding.message, report.finding.params)}[/red]")
        raise typer.Exit(1)
    console.print(f"[green]证据日志完好[/green]：{report.entries:,} 条，{report.heads} 个签名树头已核对")


@evidence_app.command("sign-head")
def evidence_sign_head() -> None:
    """Sign the log's current size and root (Ed25519) and keep the signed head."""
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.evidence import service as evidence
    from xinyidai.core.i18n import translate

    settings = _settings()
    _prepare(settings)
    try:
        with session_scope(get_engine(settings.database_url)) as session:
            head = evidence.sign_head(session, settings)
            size, root = head.tree_size, bytes(head.root_hash).hex()
    except XydError as exc:
        console.print(f"[red]{translate(exc.message, exc.params)}[/red]")
        raise typer.Exit(1) from None
    console.print(f"已签名树头：{size:,} 条，根哈希 {root}")


@evidence_app.command("export-public-key")
def evidence_export_public_key(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the PEM here")] = None,
) -> None:
    """Print (or write) the log's Ed25519 public key as PEM, for anyone checking receipts."""
    from xinyidai.core.evidence import keys
    from xinyidai.core.evidence import service as evidence

    settings = _settings()
    settings.ensure_home()
    key = evidence.public_key(settings)
    pem = keys.public_pem(key)
    if output is not None:
        output.write_text(pem)
        console.print(f"公钥已写入 {output}（指纹 {keys.fingerprint(key)}）")
    else:
        sys.stdout.write(pem)


@evidence_app.command("check-receipt")
def evidence_check_receipt(
    receipt: Annotated[Path, typer.Argument(help="The receipt (JSON) to check")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The log's public key (PEM)")],
) -> None:
    """Check a receipt offline: the entry, its inclusion proof and the signed head (exit 1 if invalid)."""
    import json

    from xinyidai.core.evidence import keys
    from xinyidai.core.evidence import service as evidence
    from xinyidai.core.i18n import translate

    try:
        document = json.loads(receipt.read_text(encoding="utf-8"))
        key = keys.load_public(public_key.read_text())
    except (OSError, ValueError) as exc:
        console.print(f"[red]无法读取回执或公钥：{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        record = evidence.check_receipt(document, key)
    except XydError as exc:
        console.print(f"[red]回执无效：{translate(exc.message, exc.params)}[/red]")
        raise typer.Exit(1) from None
    console.print(
        f"[green]回执有效[/green]：第 {record['seq']} 条（{record['kind']}，{record['at']}）"
        f"在 {document['tree_head']['tree_size']:,} 条的已签名日志中"
    )


consoles_app = typer.Typer(help="The consoles: the government's financing statistics", no_args_is_help=True)
app.add_typer(consoles_app, name="consoles")


@consoles_app.command("refresh")
def consoles_refresh() -> None:
    """Recompute the financing statistics of the government console and publish them now.

    The web app also refreshes them nightly (XYD_CONSOLES_REFRESH_AT); this run is recorded as a job, so the
    statistics page shows it, and refused while another refresh runs.
    """
    from xinyidai.consoles.refresh_jobs import refresh_now
    from xinyidai.consoles.statistics_models import ConsoleRefresh
    from xinyidai.core.database import get_engine, session_scope
    from xinyidai.core.i18n import translate

    settings = _settings()
    _prepare(settings)
    engine = get_engine(settings.database_url)
    try:
        with console.status("正在汇总融资统计……"):
            job = refresh_now(engine, settings)
    except XydError as exc:
        console.print(f"[red]{translate(exc.message, exc.params)}[/red]")
        raise typer.Exit(1) from None
    if job.status != "done" or job.refresh_id is None:
        console.print(f"[red]融资统计更新失败[/red]：{translate(job.error)}")
        raise typer.Exit(1)
    with session_scope(engine) as session:
        record = session.get(ConsoleRefresh, job.refresh_id)
        assert record is not None
        line = (
            f"[green]融资统计已更新[/green]：{record.fact_rows:,} 个统计单元，"
            f"耗时 {record.elapsed_seconds} 秒"
        )
    console.print(line)


if __name__ == "__main__":
    app()
