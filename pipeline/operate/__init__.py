"""Operate: review, decide, explain, access log, retention, the auditor extract."""
