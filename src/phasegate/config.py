"""All configuration in one ``Settings``; read from ``PHASEGATE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHASEGATE_", extra="ignore")

    database_url: str = "sqlite:///phasegate.db"
    secret_key: str = "change-me-in-production"
    actor: str = "system"  # who the CLI records in the audit trail when nobody is named
    # The largest request body the API takes, in bytes; a larger one is answered with 413.
    max_body_bytes: int = Field(1024 * 1024, ge=1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
