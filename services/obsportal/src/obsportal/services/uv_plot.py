"""The UV coverage of an exposure as a small PNG, drawn with numpy and encoded with zlib.

Each projected baseline moves from (length, angle) at the start of the exposure to its
value at the end; with the angle counted from north through east, u = B sin(angle) and
v = B cos(angle). Every track is drawn with its mirror (-u, -v), since a baseline measures both.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

SIZE = 360
_MARGIN = 16
_BACKGROUND = (255, 255, 255)
_AXES = (200, 200, 200)
_PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def uv_tracks(baselines: Mapping[str, Any] | None) -> dict[str, list[tuple[float, float]]]:
    """(u, v) in metres along each baseline's track; baselines with missing values are left out."""
    tracks = {}
    for name, baseline in (baselines or {}).items():
        try:
            lengths = [_number(baseline["length"][end]) for end in ("start", "end")]
            angles = [_number(baseline["angle"][end]) for end in ("start", "end")]
        except (KeyError, TypeError):
            continue
        if None in lengths or None in angles:
            continue
        steps = np.linspace(0.0, 1.0, 16)
        length = lengths[0] + (lengths[1] - lengths[0]) * steps
        angle = np.radians(angles[0] + (angles[1] - angles[0]) * steps)
        tracks[name] = list(zip(length * np.sin(angle), length * np.cos(angle), strict=True))
    return tracks


def max_baseline(tracks: Mapping[str, list[tuple[float, float]]]) -> float:
    return max((math.hypot(u, v) for track in tracks.values() for u, v in track), default=0.0)


def _disc(canvas: np.ndarray, x: float, y: float, colour: tuple[int, int, int]) -> None:
    column, row = round(x), round(y)
    canvas[max(row - 2, 0) : row + 3, max(column - 2, 0) : column + 3] = colour


def uv_png(baselines: Mapping[str, Any] | None) -> bytes:
    """The PNG: east (u) to the left as on the sky, north (v) up; the scale fits the longest."""
    tracks = uv_tracks(baselines)
    canvas = np.empty((SIZE, SIZE, 3), np.uint8)
    canvas[:] = _BACKGROUND
    middle = SIZE // 2
    canvas[middle, _MARGIN : SIZE - _MARGIN] = _AXES
    canvas[_MARGIN : SIZE - _MARGIN, middle] = _AXES
    extent = max_baseline(tracks) * 1.1 or 1.0
    scale = (middle - _MARGIN) / extent
    for index, track in enumerate(tracks.values()):
        colour = _PALETTE[index % len(_PALETTE)]
        for u, v in track:
            for sign in (1, -1):
                _disc(canvas, middle - sign * u * scale, middle - sign * v * scale, colour)
    return encode_png(canvas)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of a (height, width, 3) uint8 array."""
    height, width, _ = rgb.shape
    rows = np.hstack((np.zeros((height, 1), np.uint8), rgb.reshape(height, width * 3)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)),
            _chunk(b"IEND", b""),
        )
    )
