"""On-demand benchmarks (`make bench`); results go to docs/benchmarks.md, never into tests."""
