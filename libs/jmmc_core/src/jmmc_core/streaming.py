"""Responses for generated documents: small ones in one piece, large ones streamed.

A small answer (a cone search) is produced in one worker-thread call and sent with a
Content-Length in a single write: no chunked encoding, no thread hop per chunk, no small
trailing segment for Nagle's algorithm to hold back. Anything larger is streamed as it is
produced, and its source is closed whatever happens, so a client that goes away mid-export
ends the server-side cursor at once.
"""

from collections.abc import Callable, Iterator
from itertools import chain

import psycopg
from sqlalchemy.exc import OperationalError
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


async def document_response(
    source: Iterator[bytes], unavailable: Callable[[str], Response], **kwargs
) -> Response:
    """The document ``source`` yields; ``unavailable(message)`` if the database is down."""
    try:
        head, complete = await run_in_threadpool(_head, source)
    except (OperationalError, psycopg.OperationalError) as error:
        await run_in_threadpool(source.close)
        message = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        return unavailable(f"database unavailable: {message}")
    except BaseException:
        await run_in_threadpool(source.close)
        raise
    if complete:
        return Response(b"".join(head), **kwargs)
    return ClosingStreamingResponse(chain(head, source), source, **kwargs)
