"""``phasegate --help`` lists every command without importing what the commands need to run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import typer.main

from phasegate.cli.main import COMMANDS, _register, app

HEAVY = ("scipy", "sqlalchemy", "alembic", "pydantic_settings")


def _fresh_python(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet) and return its stdout."""
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _real_commands() -> dict[str, str]:
    """Every command the command modules define, with its help text."""
    _register()
    root = typer.main.get_group(app)
    return {name: command.help or "" for name, command in root.commands.items()}


def test_help_lists_every_command_and_imports_nothing_heavy() -> None:
    out = _fresh_python(
        """
        import contextlib, io, json, sys
        from phasegate.cli.main import main
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["--help"])
        print(json.dumps({"code": code, "help": buf.getvalue(), "modules": sorted(sys.modules)}))
        """
    )
    result = json.loads(out.splitlines()[-1])
    assert result["code"] == 0
    loaded = {name.split(".")[0] for name in result["modules"]}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "phasegate.cli.analysis.commands" not in result["modules"]
    listed = {line.strip("│ ").split(" ")[0] for line in result["help"].splitlines()}
    missing = set(_real_commands()) - listed
    assert not missing, missing


def test_command_help_loads_only_the_analysis_modules() -> None:
    out = _fresh_python(
        """
        import contextlib, io, json, sys
        from phasegate.cli.main import main
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["spc", "--help"])
        print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
        """
    )
    result = json.loads(out.splitlines()[-1])
    assert result["code"] == 0
    loaded = {name.split(".")[0] for name in result["modules"]}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "phasegate.cli.analysis.commands" in result["modules"]


def test_the_command_table_matches_the_commands() -> None:
    real = _real_commands()
    assert set(COMMANDS) == set(real)
    for name, (_module, help_text) in COMMANDS.items():
        assert help_text == real[name], name


def test_each_command_is_found_in_its_module() -> None:
    out = _fresh_python(
        """
        import contextlib, io, json
        from phasegate.cli.main import COMMANDS, main
        codes = {}
        for name in COMMANDS:
            with contextlib.redirect_stdout(io.StringIO()):
                codes[name] = main([name, "--help"])
        print(json.dumps(codes))
        """
    )
    codes = json.loads(out.splitlines()[-1])
    assert codes == dict.fromkeys(COMMANDS, 0)
