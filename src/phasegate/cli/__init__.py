"""Typer command-line interface: parses, calls one service, renders."""
