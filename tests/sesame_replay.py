"""Recorded SIMBAD (Sesame) answers, replayed offline by the services' name resolvers and
served on loopback by :func:`sesame_replay` so the real HTTP client can be exercised."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from jmmc_core.name_resolver import recording_name

#: One Sesame XML answer per name (see its README).
SIMBAD_RECORDINGS = Path(__file__).resolve().parent / "recordings" / "simbad"
NOTHING_FOUND = (
    b"<Sesame><Target><name>x</name><INFO>*** Nothing found ***</INFO></Target></Sesame>"
)


class SesameReplay(BaseHTTPRequestHandler):
    """Answers ``GET /?<name>`` with the recorded Sesame answer, as CDS would."""

    asked: list[str] = []
    broken = False

    def do_GET(self) -> None:
        name = unquote(self.path.partition("?")[2])
        type(self).asked.append(name)
        path = SIMBAD_RECORDINGS / recording_name(name)
        if self.broken:
            body = b"<html>maintenance"
        elif path.is_file():
            body = path.read_bytes()
        else:  # an unrecorded name: Sesame's answer for nothing found
            body = NOTHING_FOUND
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def sesame_replay() -> Iterator[str]:
    """The URL of a loopback Sesame answering from the recordings, for as long as it is open."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SesameReplay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sesame"
    finally:
        server.shutdown()
        server.server_close()
