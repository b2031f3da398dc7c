"""Unit-cost roll-up, learning curves, tooling amortisation. Pure."""
