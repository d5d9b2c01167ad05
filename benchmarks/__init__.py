"""Benchmark harness: deterministic workloads and timed cases (`make bench`)."""
