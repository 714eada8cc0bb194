"""xtui: a terminal experiment manager for cross-lingual transfer research."""

__version__ = "0.1.0"
