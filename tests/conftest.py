"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL is taken from ``XYD_TEST_POSTGRES_URL`` (default: the CI server on 127.0.0.1:5432,
database ``test``). Locally a missing server skips those runs; under ``CI=true`` it fails them.
Each test starts from empty tables; the schema is built once per backend by the real migrations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from xinyidai import demo
from xinyidai.accounts.models import User
from xinyidai.core.database import get_engine, session_scope
from xinyidai.core.migrations import upgrade
from xinyidai.core.security import totp_now
from xinyidai.core.settings import Settings
from xinyidai.models import metadata
from xinyidai.web.app import create_app

POSTGRES_URL = os.environ.get("XYD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = demo.DEMO_PASSWORD


def _postgres_available(url: str) -> bool:
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except OperationalError:
        return False


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = POSTGRES_URL
        if not _postgres_available(url):
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is not reachable at {url}")
            pytest.skip("PostgreSQL not reachable")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def truncate_all(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = get_engine(database_url)
    truncate_all(engine)
    return engine


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A unit of work for service-level tests; committed at the end like a request."""
    with session_scope(engine) as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str, engine: Engine) -> Settings:
    return Settings(
        home=tmp_path / "home", database_url=database_url, environment="test", secret_key="t" * 48
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def world(engine: Engine) -> list[demo.DemoLogin]:
    """The demo city: one login per role, 300 registry enterprises, 12 registered."""
    with session_scope(engine) as session:
        return demo.build(session)


def new_client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="https://testserver")


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with new_client(app) as c:
        yield c


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def totp_for(engine: Engine, username: str) -> str:
    with session_scope(engine) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        assert user.totp_secret
        return totp_now(user.totp_secret)


class LoggedIn:
    """A browser-like client logged in as one user, with its session's CSRF token."""

    def __init__(self, client: TestClient, csrf: str, username: str) -> None:
        self.client = client
        self.csrf = csrf
        self.username = username

    def post_form(self, url: str, data: dict[str, object] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
        payload = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=payload, **kwargs)  # type: ignore[arg-type]


def log_in(app: FastAPI, engine: Engine, username: str, password: str = PASSWORD) -> LoggedIn:
    client = new_client(app)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    if response.headers["location"].startswith("/login/totp"):
        page = client.get("/login/totp")
        response = client.post(
            "/login/totp",
            data={"code": totp_for(engine, username), "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
    home = client.get(response.headers["location"])
    assert home.status_code == 200, home.text
    return LoggedIn(client, csrf_from(home.text), username)


@pytest.fixture
def login(app: FastAPI, engine: Engine, world: list[demo.DemoLogin]) -> Callable[[str], LoggedIn]:
    """``login("bank_admin")`` → a client fully logged in as that demo user (TOTP included)."""
    return lambda username: log_in(app, engine, username)
