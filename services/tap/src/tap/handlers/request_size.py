"""A bound on request bodies, where inline uploads arrive (TOPCAT streams them chunked).

The multipart parser would otherwise spool a body of any size to disk before a handler could
look at it. The refusal is raised from ``receive`` while the route reads its form, so it is
answered like any error of that route (a DALI error document for TAP), naming the limit.
"""

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Room for the query parameters and the multipart framing around the uploaded tables.
FORM_ALLOWANCE_BYTES = 1024 * 1024


class RequestSizeLimit:
    """Refuses (413) a request whose body, declared or as read, exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, upload_limit_bytes: int) -> None:
        self.app = app
        self.upload_limit_bytes = upload_limit_bytes
        self.max_bytes = upload_limit_bytes + FORM_ALLOWANCE_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, bounded_receive, send)

    def _too_large(self) -> HTTPException:
        return HTTPException(
            413,
            f"UPLOAD: the request is larger than this service accepts: uploaded tables may "
            f"total {self.upload_limit_bytes} bytes",
        )
