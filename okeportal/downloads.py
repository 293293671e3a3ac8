"""Downloads: every file goes out through ``FileResponse(as_attachment=True, filename=…)``,
which writes the Content-Disposition header (an ASCII ``filename`` and the RFC 5987
``filename*`` for Polish letters); no view builds that header by hand.

A body written while it is sent (a CSV streamed row by row) is handed to
``FileResponse`` as a read-only file over its chunks (``ChunkFile``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class ChunkFile(io.RawIOBase):
    """A read-only, unseekable file over an iterable of byte chunks, read once and in order.

    Closing it closes the iterable too when it can be closed (a generator's ``finally``
    and ``with`` blocks run), as ``StreamingHttpResponse`` does with an iterator it is given.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._source = chunks
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk).cast("B")
        target = memoryview(buffer).cast("B")
        n = min(len(target), len(self._pending))
        target[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()
        super().close()
