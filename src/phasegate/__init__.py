"""phasegate: carry a hardware product from prototype to pilot run to production run."""

__version__ = "0.1.0"
