"""Stage gates: evaluating a product's gate on its evidence, and deciding it by review."""
