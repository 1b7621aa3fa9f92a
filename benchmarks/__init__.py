"""Benchmarks of immusql, alone and beside PostgreSQL 15: `python -m benchmarks` runs them and writes the report."""
