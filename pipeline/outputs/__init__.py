"""Outputs: the coordinator's report, school notification files, safe file writes."""
