"""HTTP routes, one module per area. Shared parameter types live here."""

from typing import Annotated

from litestar.params import PathParameter

# An id in a path: what the server and devices make (UUIDs, client ids). Anything
# else (NUL bytes, slashes, 300 characters) is refused with 400 before touching the database.
PathId = Annotated[
    str, PathParameter(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="an id", max_length=64)
]
