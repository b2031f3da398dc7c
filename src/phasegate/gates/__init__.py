"""Gate plans, criteria and their evaluation over an Evidence object. Pure."""
