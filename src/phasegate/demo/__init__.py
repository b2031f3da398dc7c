"""Deterministic demo data: three air-quality products, one in each phase.

``generate(seed)`` builds the records; ``load_demo(engine, ...)`` stores them (the CLI's
``phasegate demo`` calls it).
"""

from phasegate.demo.generator import generate
from phasegate.demo.loader import DemoSummary, load_demo

__all__ = ["DemoSummary", "generate", "load_demo"]
