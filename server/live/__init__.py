"""Live: what runs beside the requests, one of each per process.

hub        fans committed changes out to WebSocket subscribers, each in its scope
scheduler  turns SLA clocks overdue at their due time (server/services/overdue.py)
"""
