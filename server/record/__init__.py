"""The record: what is stored, as clients see it. Reads only (the SLA policy is also set here).

events     stored field events, as the fold sees them and as clients see them
incident   the incident record (PROTOCOL §7), built from its parts in bulk
views      a review item (in full, or as listed on its incident), a versioned record's state
diversions  an incident's diversions summed up: the current one, how many came back
policy     the bureau's SLA policy: presets, targets, tolerance
caller_data  the caller's name and phone in each answer: in full or masked, and audited
"""
