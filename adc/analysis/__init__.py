"""Facts about one specialised function that the derivative transforms need."""
