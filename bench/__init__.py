"""Benchmarks: scripts that print figures. Run them with `python -m bench.NAME`."""
