"""Tests of the foundation: config, calendar, clock, register and CLI."""
