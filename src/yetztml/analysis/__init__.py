"""yetztml.analysis."""
