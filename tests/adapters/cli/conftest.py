"""Run the real ``phasegate`` entry point in-process against a chosen database."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phasegate.cli.main import main
from phasegate.config import get_settings


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Runner = Callable[..., Result]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], database_url: str
) -> Runner:
    def invoke(*args: str, url: str | None = None) -> Result:
        monkeypatch.setenv("PHASEGATE_DATABASE_URL", url or database_url)
        monkeypatch.setenv("COLUMNS", "200")
        get_settings.cache_clear()
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        get_settings.cache_clear()
        return Result(code, captured.out, captured.err)

    return invoke
