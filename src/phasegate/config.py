"""All configuration in one ``Settings``; read from ``PHASEGATE_*`` environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from phasegate.domain.errors import ConfigurationError

SECRET_KEY_MIN_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHASEGATE_", extra="ignore")

    database_url: str = "sqlite:///phasegate.db"
    # Signs session and CSRF cookies. Required outside demo mode; at least 32 characters.
    secret_key: str | None = Field(None, repr=False)
    # Demo mode: the server may start without a secret key (a random one is made per start).
    demo: bool = False
    # The user the CLI acts as; the first admin when unset.
    user: str | None = None
    # The largest request body the API takes, in bytes; a larger one is answered with 413.
    max_body_bytes: int = Field(1024 * 1024, ge=1)
    # The largest file upload (POST /api/v1/ingest/files, the whole form), in bytes; 413 beyond.
    max_upload_bytes: int = Field(512 * 1024 * 1024, ge=1)
    # A signed-in browser is signed out after this long without a request, and after this long
    # in any case.
    session_idle_minutes: int = Field(60, ge=1, le=24 * 60)
    session_max_hours: int = Field(12, ge=1, le=24 * 30)
    # Cookies marked Secure (sent over HTTPS only); set when the server sits behind TLS.
    https: bool = False

    def signing_key(self) -> str:
        """The key that signs cookies: ``PHASEGATE_SECRET_KEY``, or in demo mode a random one.

        ``ConfigurationError`` when it is missing or too short outside demo mode.
        """
        key = self.secret_key
        if key is None or not key.strip():
            if self.demo:
                return secrets.token_urlsafe(48)
            raise ConfigurationError(
                "PHASEGATE_SECRET_KEY is not set: give the server a random secret of at least "
                f"{SECRET_KEY_MIN_LENGTH} characters (e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), "
                "or run the demo with PHASEGATE_DEMO=1"
            )
        if len(key) < SECRET_KEY_MIN_LENGTH:
            raise ConfigurationError(
                f"PHASEGATE_SECRET_KEY is {len(key)} characters long; it needs at least "
                f"{SECRET_KEY_MIN_LENGTH}"
            )
        return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
