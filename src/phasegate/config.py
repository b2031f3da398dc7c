"""All configuration in one ``Settings``; read from ``PHASEGATE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHASEGATE_", extra="ignore")

    database_url: str = "sqlite:///phasegate.db"
    secret_key: str = "change-me-in-production"
    actor: str = "system"  # who the CLI records in the audit trail when nobody is named


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
