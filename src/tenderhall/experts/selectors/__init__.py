"""Every read of the experts app, by part (registry, extraction, committee)."""
