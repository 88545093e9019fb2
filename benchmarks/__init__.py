"""Benchmarks: run with ``python -m benchmarks.<name>``; results go in benchmarks/README.md."""
