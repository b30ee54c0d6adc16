"""yetztml.tasks."""
