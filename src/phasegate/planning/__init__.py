"""Production scheduling over orders and lines (OR-Tools CP-SAT). Pure."""
