"""Parameter types the route modules share: ids in paths, and the named dependencies
the app provides (server/app.py)."""

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import PathParameter

from server.core.config import Settings

# An id in a path: what the server and devices make (UUIDs, client ids). Anything
# else (NUL bytes, slashes, 300 characters) is refused with 400 before touching the database.
PathId = Annotated[
    str, PathParameter(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="an id", max_length=64)
]

# The database's epoch, for feed cursors.
Epoch = NamedDependency[str]
# The settings the app was built with.
AppSettings = NamedDependency[Settings]
