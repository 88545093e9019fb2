"""Helpers shared by several test modules (real components the tests start)."""
