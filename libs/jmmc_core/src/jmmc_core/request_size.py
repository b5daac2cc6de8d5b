"""A bound on request bodies, for services taking uploads.

Form parsing (the app-wide NUL check included) would otherwise spool a body of any size to
disk before a handler could look at it. The refusal (413) is raised from ``receive`` while
the route reads its body, so it is answered like any error of that route, with ``message``.
A body announcing a larger ``Content-Length`` is refused at its first read.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Refuses (413) a request whose body, declared or as read, exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int, message: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise HTTPException(413, self.message)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self.message)
            return message

        await self.app(scope, bounded_receive, send)
