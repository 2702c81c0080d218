"""Ingest: read a night's delivery from the landing area; which nights to run."""
