"""yetztml.interop."""
