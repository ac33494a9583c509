"""Ids the server makes: random UUIDs (incidents, actions, review items, dead letters)."""

from __future__ import annotations

import secrets
import uuid


def new_id() -> str:
    return str(uuid.uuid4())


def new_rating_code() -> str:
    """A station's rating-poster code (`/rate/s/{code}`, PROTOCOL §9): 12 characters of
    URL-safe base64, 72 random bits, so a code cannot be guessed from another."""
    return secrets.token_urlsafe(9)
