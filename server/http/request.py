"""The request class the app uses: Litestar's, with JSON bodies that cannot fault.

msgspec decodes a JSON body recursively and raises RecursionError past its depth limit
(100,000 `[` in a row fit in 100 KB); Litestar lets that through as a 500. No request
body of any shape answers 5xx (PROTOCOL §12): a body nested that deeply is 400 invalid.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from server.core.errors import BadRequest


class QinglingRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise BadRequest("the body is nested too deeply") from None
