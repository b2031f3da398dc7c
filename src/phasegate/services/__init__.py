"""Use cases: the one API the adapters call. Only services open a unit of work and commit."""
