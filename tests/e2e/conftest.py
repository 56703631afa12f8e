"""Fixtures for the real-browser tests: the real server as a subprocess, the demo city, Chromium.

Each backend (the session-scoped ``database_url``) gets its own server, started once per module on
freshly built demo data. Other tests truncate the tables between tests, and the lockout test leaves
an account locked, so every e2e test first makes sure the demo city exists and no demo account is
locked (``demo_site``). Playwright's own browser download is not used: Debian's Chromium is.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine, make_url, update

from tests.conftest import truncate_all
from xinyidai import demo
from xinyidai.accounts.models import User
from xinyidai.core.database import get_engine, session_scope

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "var" / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY_TIMEOUT_SECONDS = 30.0
SECRET_KEY = "e2e-secret-key-" + "x" * 33  # 48 characters; only for this throw-away server


@dataclass(frozen=True)
class LiveServer:
    """A running ``xinyidai serve`` process on one backend."""

    base_url: str
    backend: str
    engine: Engine
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def screenshot_path(self, name: str) -> Path:
        """``var/artifacts/screenshots/<backend>-<name>.png`` (the folder is created)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS / f"{self.backend}-{name}.png"


def _xinyidai_command() -> str:
    """The ``xinyidai`` console script of the running virtualenv."""
    candidate = Path(sys.executable).parent / "xinyidai"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("xinyidai")
    if found is None:
        pytest.fail("the xinyidai command is not installed (pip install -e .)")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:  # 503 while not ready: close the body it carries
        exc.close()
        return False
    except OSError:  # refused / reset / timed out while the server is starting
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def reset_demo(engine: Engine, *, rebuild: bool) -> None:
    """Ensure the demo city exists (optionally from empty tables) and no account is locked."""
    if rebuild:
        truncate_all(engine)
    with session_scope(engine) as session:
        demo.build(session)
        session.execute(update(User).values(failed_logins=0, locked_until=None))


@pytest.fixture(scope="module")
def live_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real server on ``database_url``, with a freshly built demo city; stopped at module end."""
    engine = get_engine(database_url)
    reset_demo(engine, rebuild=True)
    backend = make_url(database_url).get_backend_name()
    home = tmp_path_factory.mktemp(f"e2e-{backend}")
    log_path = home / "server.log"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XYD_")}
    env.update(
        XYD_HOME=str(home),
        XYD_DATABASE_URL=database_url,
        XYD_ENVIRONMENT="test",
        XYD_SECRET_KEY=SECRET_KEY,
        XYD_COOKIE_SECURE="false",  # plain http on 127.0.0.1
    )
    command = [_xinyidai_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not _is_ready(base_url + "/readyz"):
            if process.poll() is not None or time.monotonic() > deadline:
                exited = process.poll() is not None
                _stop(process)
                state = (
                    f"exited with status {process.returncode}"
                    if exited
                    else f"did not answer /readyz with 200 within {READY_TIMEOUT_SECONDS:.0f} s"
                )
                pytest.fail(
                    f"`{' '.join(command)}` ({backend}) {state}; "
                    f"server output ({log_path}):\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.1)
        yield LiveServer(base_url=base_url, backend=backend, engine=engine, log_path=log_path)
    finally:
        _stop(process)


@pytest.fixture
def demo_site(live_server: LiveServer) -> LiveServer:
    """The live server, its demo city rebuilt if other tests emptied the tables, nobody locked."""
    reset_demo(live_server.engine, rebuild=False)
    return live_server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session."""
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser: Browser, demo_site: LiveServer) -> Iterator[Page]:
    """A page in a fresh context (own cookie jar), Chinese locale, relative URLs on the live server."""
    context = browser.new_context(
        base_url=demo_site.base_url, locale="zh-CN", viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()
