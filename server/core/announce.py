"""What a committed write announces, and who listens.

Writers never tell the live side anything by hand. The change feed registers
`feed_moved` after the commit of every transaction that appended to it
(server/write/feed.py); revoking a device registers `device_revoked`, and signing out
`session_ended` (server/access/accounts.py), and storing a bureau's SLA policy
`policy_changed` (server/record/policy.py). Each process's live hub (server/live/hub.py) listens and
passes the news on to every process sharing the database. A process with no hub (the
command line, a seed script) has no listener, and the news goes nowhere: the hubs of
the running servers still find it by their safety-net poll.

Listeners are called after the commit, in the writer's task, and must not block: the
hub only queues a message.
"""

from __future__ import annotations

from typing import Protocol


class Listener(Protocol):
    def feed_moved(self) -> None: ...

    def device_revoked(self, device_id: str) -> None: ...

    def policy_changed(self, bureau_id: str) -> None: ...


_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def stop_listening(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def feed_moved() -> None:
    """The change feed has new committed changes."""
    for listener in list(_listeners):
        listener.feed_moved()


def device_revoked(device_id: str) -> None:
    """A device's token was revoked: its open sockets must close."""
    for listener in list(_listeners):
        listener.device_revoked(device_id)


def session_ended(device_id: str) -> None:
    """A device signed out: its token stopped working, so its open sockets must close,
    exactly as on revocation (the device itself stays enrolled)."""
    device_revoked(device_id)


def policy_changed(bureau_id: str) -> None:
    """A bureau's SLA policy was stored: every process drops its cached copy now, rather
    than reading the old one for up to its 30 s (server/record/policy.py)."""
    for listener in list(_listeners):
        listener.policy_changed(bureau_id)
