"""The Qingling server, in layers whose imports flow one way (docs/architecture.md):

    http      transport: routes, the sync WebSocket, static front ends
    live      the live hub (WebSocket fan-out) and the SLA scheduler
    services  one area each: incidents, reviews, bodycam, board, reports, ...
    write     the write path: ingest -> reconcile -> review items -> publish -> feed
    record    the record and its views: events, the incident record, the SLA policy
    access    who is asking (accounts) and what they may see (scope)
    core      database, unit of work, tables, clock, config, errors

`app.py` builds the Litestar app from them, `cli.py` is the `qingling` command and
`demo.py` seeds the demo bureau. tests/test_boundaries.py holds the layering.
"""
