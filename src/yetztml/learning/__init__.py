"""yetztml.learning."""
