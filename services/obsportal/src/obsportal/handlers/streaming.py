"""A streaming response that always closes its source, even when the client goes away."""

from collections.abc import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class ClosingStreamingResponse(StreamingResponse):
    """Streams a generator of chunks, then closes it whatever happened.

    Starlette drops an unfinished iterator when the client disconnects; closing it here runs
    its ``finally`` at once, which ends the server-side cursor and returns the connection.
    """

    def __init__(self, content: Iterator[bytes], **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._source = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await run_in_threadpool(self._source.close)
