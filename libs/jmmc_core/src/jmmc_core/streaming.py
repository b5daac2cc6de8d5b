"""Responses for generated documents: small ones in one piece, large ones streamed.

A small answer (a cone search) is produced in one worker-thread call and sent with a
Content-Length in a single write: no chunked encoding, no thread hop per chunk, no small
trailing segment for Nagle's algorithm to hold back. Anything larger is streamed as it is
produced, and its source is closed whatever happens, so a client that goes away mid-export
ends the server-side cursor at once.
"""

from collections.abc import Iterator
from itertools import chain

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

#: Answers up to this size are sent in one piece.
BUFFERED_BYTES = 1024 * 1024


class ClosingStreamingResponse(StreamingResponse):
    """Streams ``content``, then closes ``source`` (the generator behind it)."""

    def __init__(self, content: Iterator[bytes], source: Iterator[bytes], **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await run_in_threadpool(self._source.close)


def _head(source: Iterator[bytes]) -> tuple[list[bytes], bool]:
    """The first chunks, up to :data:`BUFFERED_BYTES`, and whether that was all."""
    chunks: list[bytes] = []
    size = 0
    for chunk in source:
        chunks.append(chunk)
        size += len(chunk)
        if size >= BUFFERED_BYTES:
            return chunks, False
    return chunks, True


async def document_response(source: Iterator[bytes], **kwargs) -> Response:
    """The document ``source`` yields.

    Errors raised before the first :data:`BUFFERED_BYTES` (a bad parameter found late, the
    database down) propagate to the app's error handlers, which answer in the route's format;
    after that the status line is sent and the stream can only be cut short.
    """
    try:
        head, complete = await run_in_threadpool(_head, source)
    except BaseException:
        await run_in_threadpool(source.close)
        raise
    if complete:
        return Response(b"".join(head), **kwargs)
    return ClosingStreamingResponse(chain(head, source), source, **kwargs)
