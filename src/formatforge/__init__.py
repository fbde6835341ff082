"""formatforge: one Markdown master, every accessible format."""

__version__ = "0.1.0"
