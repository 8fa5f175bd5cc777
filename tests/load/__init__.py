"""load tests."""
