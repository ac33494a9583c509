"""Ids the server makes: time-ordered UUIDs (sync/ids.py) for rows (incidents, actions,
review items, dead letters), so each table's key index grows at its end; random codes
where an id must not be guessed (`new_rating_code`; tokens: server/access/accounts.py)."""

from __future__ import annotations

import secrets

from sync.ids import time_ordered_id


def new_id() -> str:
    return time_ordered_id()


def new_rating_code() -> str:
    """A station's rating-poster code (`/rate/s/{code}`, PROTOCOL §9): 12 characters of
    URL-safe base64, 72 random bits, so a code cannot be guessed from another."""
    return secrets.token_urlsafe(9)
