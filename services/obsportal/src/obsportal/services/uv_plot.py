"""The UV coverage of an exposure as a PNG drawn with matplotlib.

Each projected baseline moves from (length, angle) at the start of the exposure to its
value at the end; with the angle counted from north through east, u = B sin(angle) and
v = B cos(angle). Every track is drawn with its mirror (-u, -v), since a baseline measures both.
The axes are in metres, and, when the instrument's band is known, in Mλ (millions of
wavelengths) at the band's central wavelength, the unit visibilities are read in.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Points along a track, from the start of the exposure to its end.
TRACK_POINTS = 16
WIDTH, HEIGHT, DPI = 640, 520, 100  # pixels; the exposure page reserves this size


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def uv_tracks(baselines: Mapping[str, Any] | None) -> dict[str, np.ndarray]:
    """(u, v) in metres along each baseline's track, by baseline name; incomplete ones left out."""
    tracks = {}
    for name, baseline in sorted((baselines or {}).items()):
        try:
            lengths = [_number(baseline["length"][end]) for end in ("start", "end")]
            angles = [_number(baseline["angle"][end]) for end in ("start", "end")]
        except (KeyError, TypeError):
            continue
        if None in lengths or None in angles:
            continue
        steps = np.linspace(0.0, 1.0, TRACK_POINTS)
        length = lengths[0] + (lengths[1] - lengths[0]) * steps
        angle = np.radians(angles[0] + (angles[1] - angles[0]) * steps)
        tracks[name] = np.column_stack((length * np.sin(angle), length * np.cos(angle)))
    return tracks


def central_wavelength(em_min: Any, em_max: Any) -> float | None:
    """The middle of the instrument's band (metres), or None when the band is unknown."""
    low, high = _number(em_min), _number(em_max)
    if low is None or high is None or low <= 0 or high <= 0:
        return None
    return (low + high) / 2


def uv_png(exposure: Mapping[str, Any]) -> bytes:
    """The PNG: u (east) to the left as on the sky, v (north) up, one colour per baseline."""
    tracks = uv_tracks(exposure.get("projected_baselines"))
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    for name, track in tracks.items():
        (line,) = axes.plot(track[:, 0], track[:, 1], ".", markersize=5, label=name)
        axes.plot(-track[:, 0], -track[:, 1], ".", markersize=5, color=line.get_color())
    extent = max((float(np.hypot(*track.T).max()) for track in tracks.values()), default=0.0)
    extent = extent * 1.1 or 1.0
    axes.set_xlim(extent, -extent)  # east to the left
    axes.set_ylim(-extent, extent)
    axes.set_aspect("equal")
    axes.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    axes.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    axes.set_xlabel("u (m), east to the left")
    axes.set_ylabel("v (m), north up")
    wavelength = central_wavelength(exposure.get("em_min"), exposure.get("em_max"))
    if wavelength is not None:
        # Spatial frequency in millions of wavelengths: B / λ / 10⁶.
        to_mega_lambda = (lambda m: m / wavelength / 1e6, lambda ml: ml * wavelength * 1e6)
        microns = f"{wavelength * 1e6:.2f} µm"
        axes.secondary_xaxis("top", functions=to_mega_lambda).set_xlabel(f"u (Mλ at {microns})")
        axes.secondary_yaxis("right", functions=to_mega_lambda).set_ylabel(f"v (Mλ at {microns})")
    if tracks:
        figure.legend(title="Baseline", loc="outside right upper", fontsize=8, markerscale=2)
    output = io.BytesIO()
    FigureCanvasAgg(figure).print_png(output)
    return output.getvalue()
