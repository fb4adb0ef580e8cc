"""Helpers of bench/hub_run: the local hub, the tools under test, checking results, the report."""
