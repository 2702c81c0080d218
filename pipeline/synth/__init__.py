"""Synthetic data: the synthetic county, its accuracy against truth, FEBRL4 recast."""
