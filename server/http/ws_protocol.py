"""uvicorn's sans-I/O WebSocket protocol with a cheaper per-message deflate.

uvicorn compresses with zlib's default level (6). A broadcast compresses every frame once
per socket (each socket has its own compression context), so with hundreds of sockets
the compression is the server's largest cost: in a reconnect storm of 500 sockets about
half of the event loop's time (py-spy, docs/performance.md). Level 1 compresses a
feed frame about ten times faster and makes it about a quarter bigger (13.8 kB of changes:
1.67 kB at level 6, 2.05 kB at level 1), still six to seven times smaller than sent plain.
Everything else (window bits, memory level, limits, close codes) is uvicorn's.
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

DEFLATE_LEVEL = 1


class QinglingWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:
            # As uvicorn builds it, but for the compression level.
            self.conn = ServerProtocol(
                extensions=[
                    ServerPerMessageDeflateFactory(
                        server_max_window_bits=12,
                        client_max_window_bits=12,
                        compress_settings={"memLevel": 5, "level": DEFLATE_LEVEL},
                    )
                ],
                max_size=self.config.ws_max_size,
                logger=logging.getLogger("uvicorn.error"),
            )
