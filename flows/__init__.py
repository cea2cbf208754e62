"""Prefect flows: the imperative shell that runs plancycle's domain on a rhythm."""
