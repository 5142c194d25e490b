"""Benchmarks B1-B5 (see the README): each compares its modes in the same run and reports numbers."""
