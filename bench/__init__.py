"""Benchmarks. Each prints `bench: <name> = <value>` lines, as ratios to a baseline from the same run."""
