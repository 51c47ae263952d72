"""Models, the session factory and read queries."""
