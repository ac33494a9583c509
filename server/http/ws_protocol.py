"""uvicorn's sans-I/O WebSocket protocol with a per-message deflate made for broadcasts.

A broadcast sends the same frame to hundreds of sockets. With uvicorn's deflate each
socket keeps its own compression context, so the frame is compressed once per socket:
in a reconnect storm of 500 sockets that was about 40% of the server's CPU even at zlib
level 1 (py-spy, docs/performance.md).

Here the server compresses each message on its own (`server_no_context_takeover`, which
every client must accept, RFC 7692 §7.1.1.1): the compressed bytes then depend only on
the message, so a message sent to many sockets is compressed once and the bytes are
shared (`_SHARED`, the last few messages). The price is a slightly worse ratio on small
frames, which can no longer refer back to earlier ones (docs/performance.md has the
sizes). Level 1, a 4 KiB window, memory level 5; everything else (limits, close codes)
is uvicorn's.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import CONT, CTRL_OPCODES, Frame
from websockets.server import ServerProtocol
from websockets.typing import ExtensionParameter

DEFLATE_LEVEL = 1
WINDOW_BITS = 12
MEMORY_LEVEL = 5

# Compressed messages kept for the next socket that sends the same bytes: a few rounds of
# a broadcast, bounded in count and in bytes (the originals are the keys).
_SHARED: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()
SHARED_MESSAGES = 16
SHARED_BYTES = 8 * 1024 * 1024
_shared_size = 0


class SharedDeflate(PerMessageDeflate):
    """Per-message deflate without server context takeover, whose compressed messages
    are shared between sockets."""

    def encode(self, frame: Frame) -> Frame:
        if (
            frame.opcode in CTRL_OPCODES
            or frame.opcode is CONT
            or not frame.fin
            or not self.local_no_context_takeover
        ):
            return super().encode(frame)
        # The window a client allowed shapes the compressed bytes: part of the key.
        key = (self.local_max_window_bits, bytes(frame.data))
        compressed = _SHARED.get(key)
        if compressed is None:
            compressed = bytes(super().encode(frame).data)
            _remember(key, compressed)
        else:
            _SHARED.move_to_end(key)
        return Frame(frame.opcode, compressed, True, True, frame.rsv2, frame.rsv3)


def _remember(key: tuple[int, bytes], compressed: bytes) -> None:
    global _shared_size
    _SHARED[key] = compressed
    _shared_size += len(key[1]) + len(compressed)
    while len(_SHARED) > SHARED_MESSAGES or (_shared_size > SHARED_BYTES and len(_SHARED) > 1):
        (_, old), value = _SHARED.popitem(last=False)
        _shared_size -= len(old) + len(value)


class SharedDeflateFactory(ServerPerMessageDeflateFactory):
    def __init__(self) -> None:
        super().__init__(
            server_no_context_takeover=True,
            server_max_window_bits=WINDOW_BITS,
            client_max_window_bits=WINDOW_BITS,
            compress_settings={"memLevel": MEMORY_LEVEL, "level": DEFLATE_LEVEL},
        )

    def process_request_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[ExtensionParameter], PerMessageDeflate]:
        response, made = super().process_request_params(params, accepted_extensions)
        return response, SharedDeflate(
            made.remote_no_context_takeover,
            made.local_no_context_takeover,
            made.remote_max_window_bits,
            made.local_max_window_bits,
            made.compress_settings,
        )


class QinglingWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:
            self.conn = ServerProtocol(
                extensions=[SharedDeflateFactory()],
                max_size=self.config.ws_max_size,
                logger=logging.getLogger("uvicorn.error"),
            )
