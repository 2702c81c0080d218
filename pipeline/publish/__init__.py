"""Publish: the warehouse (the only code that opens DuckDB) and its working copy."""
