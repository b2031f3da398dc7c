"""Conventions that check themselves: every CLI command and option is documented."""

from __future__ import annotations

from typing import Any

import typer.main

from phasegate.cli.main import _register, app


def _commands(group: Any, path: str = "phasegate") -> list[tuple[str, Any]]:
    found = [(path, group)]
    if hasattr(group, "commands"):
        for name, command in group.commands.items():
            found.extend(_commands(command, f"{path} {name}"))
    return found


def test_every_command_and_option_has_help() -> None:
    _register()
    root = typer.main.get_command(app)
    missing = []
    for path, command in _commands(root):
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if param.param_type_name == "option" and not param.help:
                missing.append(f"{path} {param.opts[0]}")
    assert missing == []


def test_reporting_commands_take_format() -> None:
    _register()
    root = typer.main.get_command(app)
    reporting = ["products list", "builds list", "units show", "init", "demo"]
    commands = dict(_commands(root))
    for name in reporting:
        options = {opt for p in commands[f"phasegate {name}"].params for opt in p.opts}
        assert "--format" in options, name
