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
    # The evidence log's Ed25519 signing key: base64 of the 32-byte private key, or a PEM (PKCS#8).
    # Unset outside production: generated once and kept in ``home/evidence_signing_key.pem``.
    evidence_signing_key: str = ""
    # How often the web app signs the evidence log's head while the log grows (and receipts sign on demand).
    evidence_head_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # Objections to report data (征信业管理条例 Art. 25: answered within 20 days): the supplying department
    # answers within this many working days, never later than the 20th calendar day; reminded this many
    # working days before the deadline.
    objection_working_days: int = Field(default=14, ge=1, le=30)
    objection_remind_working_days: int = Field(default=3, ge=0, le=10)
    # Retention (rating/retention rules in docs/operator-guide.md): negative information 5 years after the
    # conduct ended (Art. 16); the record of report queries; the security audit trail at least six months
    # (Cybersecurity Law Art. 21) — a shorter audit period is refused at start-up.
    retention_negative_years: int = Field(default=5, ge=1, le=30)
    retention_query_years: int = Field(default=5, ge=1, le=30)
    retention_audit_months: int = Field(default=6, ge=6, le=600)
    # Notification delivery (core/delivery/): the SMS gateway — "outbox" keeps messages in the platform's
    # own table (demo, tests, no provider), "aliyun" sends through Aliyun SMS (dysmsapi SendSms) with the
    # approved signature and template below; webhooks need https, except http to this machine outside
    # production (or where allowed here); the app's worker thread looks for due deliveries this often.
    sms_gateway: Literal["outbox", "aliyun"] = "outbox"
    sms_sign_name: str = "信易贷"
    sms_aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    sms_aliyun_region: str = "cn-hangzhou"
    sms_aliyun_access_key_id: str = ""
    sms_aliyun_access_key_secret: str = ""
    sms_aliyun_template_code: str = ""
    webhooks_allow_http_localhost: bool = False
    delivery_poll_seconds: float = Field(default=2.0, gt=0, le=600)
    # The console statistics (consoles/refresh_jobs.py): the web app's scheduler queues the nightly refresh
    # once Beijing time is past this HH:MM each day (empty: no nightly refresh; the operator's button still
    # works) and looks for queued refreshes this often.
    consoles_refresh_at: str = Field(default="02:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d)?$")
    consoles_refresh_poll_seconds: float = Field(default=15.0, gt=0, le=600)

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
