"""yetztml.experiments."""
