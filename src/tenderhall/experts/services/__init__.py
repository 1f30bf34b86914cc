"""Every write of the experts app, by part: registry (the expert database), extraction (the
verifiable draw, notification and reserves), committee (remote venues, check-in, leader)."""
