"""Helpers for bench/run: nginx, test files, tool commands, measurement and the report."""
