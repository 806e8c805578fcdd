"""Population-based and sampling methods that use objective values only."""
