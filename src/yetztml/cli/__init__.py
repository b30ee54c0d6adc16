"""yetztml.cli."""
