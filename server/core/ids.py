"""Ids the server makes: random UUIDs (incidents, actions, review items, dead letters)."""

from __future__ import annotations

import uuid


def new_id() -> str:
    return str(uuid.uuid4())
