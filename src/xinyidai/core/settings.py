"""Settings from ``XYD_*`` environment variables; all state lives under ``XYD_HOME``."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "dev", "development"}


class Settings(BaseSettings):
    """Runtime configuration.

    Every path defaults to a place under ``home`` so that two installations never collide.
    """

    model_config = SettingsConfigDict(env_prefix="XYD_", extra="ignore")

    environment: Literal["development", "demo", "test", "production"] = "development"
    home: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    default_locale: str = "zh_CN"
    # MLPS level 3 practice: lock after 5 failures for 15 minutes; end idle sessions after 30 minutes.
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    session_idle_minutes: int = 30
    password_max_age_days: int = Field(default=90, ge=0)
    cookie_secure: bool = True
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    api_token_minutes: int = 60
    log_level: str = "INFO"
    # The marketplace: how many institutions may hold one need (抢单), how long a need stays open,
    # and how many working days an institution has for each move on an application.
    market_max_holders: int = Field(default=3, ge=1, le=20)
    market_need_days: int = Field(default=30, ge=1, le=365)
    market_sla_working_days: int = Field(default=3, ge=1, le=30)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'xinyidai.db'}"
        if self.environment == "production" and self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("XYD_SECRET_KEY must be set to a long random value in production")
        return self

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def quality_reports_dir(self) -> Path:
        """Dated data-quality reports (Excel), one per run."""
        return self.home / "reports" / "quality"

    def ensure_home(self) -> None:
        """Create the state folder and, outside production, a persistent random secret key."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.secret_key:
            key_file = self.home / "secret_key"
            if not key_file.exists():
                key_file.write_text(secrets.token_urlsafe(48))
                key_file.chmod(0o600)
            self.secret_key = key_file.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    settings = Settings()
    settings.ensure_home()
    return settings
