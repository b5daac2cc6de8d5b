"""Quick-look PNGs of a granule: VIS2 and T3PHI against spatial frequency, and UV coverage.

Drawn with matplotlib (Agg, 800x600) from the points the OIFITS reader gives for the granule,
and cached on disk under ``settings.previews_dir``, keyed by the file's MD5, the granule's
identity in the file and the kind: the same bytes always give the same picture, so a cached
preview is served without opening the FITS file, and a new version of a file (new MD5) never
reuses an old picture. A miss draws all the granule's quick-looks from one read of the file.
A preview is written under a temporary name and renamed, so readers never see half a PNG and
two renderers of the same preview end with one file.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from jmmc_core.errors import NotFound

from ..config import Settings
from .oifits import granule_rows

#: The kinds of quick-look and what each shows.
PREVIEW_KINDS = {
    "vis2": "Squared visibility against spatial frequency (PNG quick-look)",
    "t3phi": "Closure phase against spatial frequency (PNG quick-look)",
    "uv": "UV coverage (PNG quick-look)",
}
#: Bumped when the drawing changes, so cached pictures of the old look are not served.
STYLE_VERSION = 3
WIDTH, HEIGHT, DPI = 8, 6, 100  # 800x600 pixels
MEGA = 1e6

# matplotlib's state (fonts, caches) is not thread-safe: web workers draw one at a time, and a
# granule's quick-looks are drawn once however many requests miss them together.
_rendering = threading.Lock()


class GranuleLike(Protocol):
    target_name: str
    instrument_name: str | None
    instrument_mode: str | None
    t_min: float | None
    t_max: float | None
    access_md5: str | None
    nb_vis: int | None
    nb_vis2: int | None
    nb_t3: int | None


def preview_kinds_of(granule: GranuleLike) -> list[str]:
    """The quick-looks a granule has data for (counts not known: all of them)."""
    vis2, t3, vis = (
        (count is None or count > 0) for count in (granule.nb_vis2, granule.nb_t3, granule.nb_vis)
    )
    kinds = {"vis2": vis2, "t3phi": t3, "uv": vis2 or t3 or vis}
    return [kind for kind, present in kinds.items() if present]


def check_kind(granule: GranuleLike, kind: str) -> None:
    if kind not in PREVIEW_KINDS:
        raise NotFound(f"no quick-look {kind!r}; there are {', '.join(PREVIEW_KINDS)}")
    if kind not in preview_kinds_of(granule):
        raise NotFound(f"this granule has no data for the {kind} quick-look")


def _granule_key(granule: GranuleLike) -> str:
    """The granule's identity inside its file, short enough for a file name."""
    identity = repr(
        (
            STYLE_VERSION,
            granule.target_name,
            granule.instrument_name,
            granule.instrument_mode,
            granule.t_min,
            granule.t_max,
        )
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def cache_path(settings: Settings, file_md5: str, granule: GranuleLike, kind: str) -> Path:
    return settings.previews_dir / file_md5[:2] / f"{file_md5}-{_granule_key(granule)}-{kind}.png"


def render_preview(settings: Settings, granule: GranuleLike, file_path: Path, kind: str) -> bytes:
    """The PNG of ``kind`` for ``granule`` of the OIFITS file at ``file_path``, from the cache
    when it was drawn before.

    A miss draws every quick-look of the granule from one read of the file: pages and DataLink
    clients ask for them together, and the file is read once instead of once per kind.
    """
    check_kind(granule, kind)
    file_md5 = (
        granule.access_md5 or hashlib.md5(file_path.read_bytes(), usedforsecurity=False).hexdigest()
    )
    paths = {
        other: cache_path(settings, file_md5, granule, other) for other in preview_kinds_of(granule)
    }
    with suppress(FileNotFoundError):
        return paths[kind].read_bytes()
    with _rendering:
        # Another request may have drawn them while this one waited.
        with suppress(FileNotFoundError):
            return paths[kind].read_bytes()
        data = granule_rows(file_path, granule)
        pictures = {other: _draw(other, granule, data) for other in paths}
        for other, png in pictures.items():
            _write_atomically(paths[other], png)
    return pictures[kind]


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------
# Drawing


def _array(values: Any) -> np.ndarray:
    return np.asarray(values if values is not None else [], dtype=float).ravel()


def _finite(*columns: np.ndarray) -> list[np.ndarray]:
    """The columns restricted to the rows where every value is finite (flagged data are NaN)."""
    if not columns or not len(columns[0]):
        return [np.array([]) for _ in columns]
    keep = np.logical_and.reduce([np.isfinite(column) for column in columns])
    return [column[keep] for column in columns]


def _title(granule: GranuleLike) -> str:
    mode = granule.instrument_mode or granule.instrument_name or ""
    return f"{granule.target_name} — {mode}".strip(" —")


def _no_data(axes, what: str) -> None:
    axes.text(0.5, 0.5, f"no valid {what} in this granule", ha="center", va="center",
              transform=axes.transAxes, fontsize=14)  # fmt: skip


def _against_frequency(
    axes, frequency: Any, values: Any, errors: Any, wavelengths: Any, what: str
) -> None:
    frequency, values, errors, wavelengths = _finite(
        _array(frequency) / MEGA, _array(values), _array(errors), _array(wavelengths) / 1e-6
    )
    if not len(values):
        _no_data(axes, what)
        return
    axes.errorbar(frequency, values, yerr=np.abs(errors), fmt="none", ecolor="0.55",
                  elinewidth=0.8, zorder=1)  # fmt: skip
    points = axes.scatter(frequency, values, c=wavelengths, s=10, cmap="viridis", zorder=2)
    axes.figure.colorbar(points, ax=axes, label="Wavelength (µm)", pad=0.02, fraction=0.05)
    axes.set_xlabel("Spatial frequency B/λ (10⁶ rad⁻¹)")
    axes.set_xlim(left=0)


def _uv(axes, u: Any, v: Any) -> None:
    u, v = _finite(_array(u), _array(v))
    if not len(u):
        _no_data(axes, "UV points")
        return
    # A baseline measures (u, v) and (-u, -v) alike.
    axes.scatter(u, v, s=12, color="tab:blue", label="measured")
    axes.scatter(-u, -v, s=12, color="tab:orange", label="symmetric")
    extent = 1.1 * float(np.max(np.hypot(u, v))) or 1.0
    axes.set_xlim(extent, -extent)  # east to the left, as on the sky
    axes.set_ylim(-extent, extent)
    axes.set_aspect("equal")
    axes.axhline(0, color="0.85", zorder=0)
    axes.axvline(0, color="0.85", zorder=0)
    axes.set_xlabel("u (m)")
    axes.set_ylabel("v (m)")
    axes.legend(loc="upper right")


def _draw(kind: str, granule: GranuleLike, data: Any) -> bytes:
    """The PNG of one kind of quick-look of ``data`` (the reader's points of ``granule``);
    the caller holds ``_rendering``."""
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(figure)
    # Fixed margins: a layout engine would draw the figure twice more.
    figure.subplots_adjust(left=0.1, right=0.97 if kind == "uv" else 0.9, bottom=0.1, top=0.93)
    axes = figure.add_subplot()
    if kind == "vis2":
        _against_frequency(axes, data.vis2_frequency, data.vis2, data.vis2_err,
                           data.vis2_wavelength, "VIS2 points")  # fmt: skip
        axes.set_ylabel("Squared visibility V²")
        axes.set_title(f"{_title(granule)}: VIS2")
    elif kind == "t3phi":
        _against_frequency(axes, data.t3_frequency, data.t3phi, data.t3phi_err,
                           data.t3_wavelength, "T3PHI points")  # fmt: skip
        axes.set_ylabel("Closure phase T3PHI (deg)")
        axes.set_title(f"{_title(granule)}: T3PHI")
    else:
        _uv(axes, data.u, data.v)
        axes.set_title(f"{_title(granule)}: UV coverage")
    axes.grid(True, color="0.92")
    output = io.BytesIO()
    figure.savefig(output, format="png")
    return output.getvalue()
