"""yetztml.report."""
