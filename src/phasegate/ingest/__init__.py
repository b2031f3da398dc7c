"""Parsers: files and uploads into validated arrays and records."""
