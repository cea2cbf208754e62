"""Prefect deployments of plancycle's flows (see deployments/README.md)."""
