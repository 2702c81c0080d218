"""Validate: landing values, Great Expectations suites, quarantine and staging."""
