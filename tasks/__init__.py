"""Thin Prefect tasks over plancycle's domain functions (retries, logging, artifacts)."""
