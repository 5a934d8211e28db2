"""Support for tests and benchmarks (a throw-away PostgreSQL server)."""
