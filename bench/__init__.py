"""Benchmarks B1-B6 (see the README): each compares its modes in the same run and reports numbers."""
