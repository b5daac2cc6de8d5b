"""The UV coverage of an exposure as a PNG drawn with matplotlib.

Each projected baseline moves from (length, angle) at the start of the exposure to its
value at the end; with the angle counted from north through east, u = B sin(angle) and
v = B cos(angle). Every track is drawn with its mirror (-u, -v), since a baseline measures both.
The axes are in metres and in Mλ (millions of wavelengths, the unit visibilities are read in)
at the centre of the exposure's band, or of its instrument's nominal band when none is recorded.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

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


#: Where each instrument's nominal band is centred (metres), for exposures with no band recorded.
NOMINAL_WAVELENGTHS = {
    "AMBER": 2.2e-6,  # K
    "GRAVITY": 2.2e-6,  # K
    "MATISSE": 3.5e-6,  # L
    "MIDI": 10.5e-6,  # N
    "PIONIER": 1.65e-6,  # H
}
#: The axes' square and the room left around it for labels and the legend, in pixels.
_AXES_BOX = (80, 60, 380, 380)


def central_wavelength(exposure: Mapping[str, Any]) -> float | None:
    """The middle of the exposure's band (metres), else its instrument's nominal one, else None."""
    low, high = _number(exposure.get("em_min")), _number(exposure.get("em_max"))
    if low is not None and high is not None and low > 0 and high > 0:
        return (low + high) / 2
    return NOMINAL_WAVELENGTHS.get(str(exposure.get("instrument_name") or "").upper())


def uv_png(exposure: Mapping[str, Any]) -> bytes:
    """The PNG: u (east) to the left as on the sky, v (north) up, one colour per baseline."""
    # Imported here: matplotlib takes about a second to import, which every start of the
    # service and its CLI would otherwise pay.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    tracks = uv_tracks(exposure.get("projected_baselines"))
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    left, bottom, width, height = _AXES_BOX
    axes = figure.add_axes((left / WIDTH, bottom / HEIGHT, width / WIDTH, height / HEIGHT))
    for name, track in tracks.items():
        (line,) = axes.plot(track[:, 0], track[:, 1], ".", markersize=5, label=name)
        axes.plot(-track[:, 0], -track[:, 1], ".", markersize=5, color=line.get_color())
    extent = max((float(np.hypot(*track.T).max()) for track in tracks.values()), default=0.0)
    extent = extent * 1.1 or 1.0
    axes.set_xlim(extent, -extent)  # east to the left
    axes.set_ylim(-extent, extent)
    axes.axhline(0, color="0.85", linewidth=0.8, zorder=0)
    axes.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    axes.set_xlabel("u (m), east to the left")
    axes.set_ylabel("v (m), north up")
    wavelength = central_wavelength(exposure)
    if wavelength is not None:
        # Spatial frequency in millions of wavelengths: B / λ / 10⁶.
        to_mega_lambda = (lambda m: m / wavelength / 1e6, lambda ml: ml * wavelength * 1e6)
        at = f"Mλ at {wavelength * 1e6:.2f} µm"
        axes.secondary_xaxis("top", functions=to_mega_lambda).set_xlabel(f"u ({at})")
        axes.secondary_yaxis("right", functions=to_mega_lambda).set_ylabel(f"v ({at})")
    if tracks:
        axes.legend(title="Baseline", loc="upper left", bbox_to_anchor=(1.2, 1.0), markerscale=2)
    output = io.BytesIO()
    FigureCanvasAgg(figure).print_png(output)
    return output.getvalue()
