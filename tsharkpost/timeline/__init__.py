"""tsharkpost timeline: connection milestones and Windows events on one time axis, events attributed to connections."""
