"""Datasets: real photo patches, procedural scenes and masks. Deterministic given a seed."""
