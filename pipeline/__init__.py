"""hearth: nightly safeguarding linkage pipeline."""

__version__ = "0.1.0"
