"""yetztml — the mathematics of Long Short-Term Memory, executable and fast."""

__version__ = "0.1.0"
