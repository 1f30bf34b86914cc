"""Pages of the experts app, by part."""
