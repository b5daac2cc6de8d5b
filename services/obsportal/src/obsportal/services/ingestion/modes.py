"""Instrument mode, submode and spectral coverage in ASPRO2's vocabulary, per instrument.

ASPRO2 matches ``instrument_mode`` against its own mode names, so the portal must speak that
vocabulary: GRAVITY ``HIGH-COMBINED`` + ``SINGLE``, PIONIER ``FREE-H``/``SMALL-H``, AMBER
``Medium_K_1_2.1``, MATISSE ``SI_PHOT_LM_LOW``, MIDI ``HIGH_SENS+PRISM``. Spectral ranges are
the nominal band edges of each mode (metres) and its nominal resolving power.
"""

from dataclasses import dataclass

from .cards import Header


@dataclass(frozen=True)
class Setup:
    mode: str | None
    submode: str | None
    em_min: float | None = None
    em_max: float | None = None
    res_power: float | None = None


#: Band edges in metres, written as decimal literals: ``1.95 * 1e-6`` would store
#: 1.9499999999999999e-06, which every export would print.
BANDS = {
    "J": (1.1e-6, 1.4e-6),
    "H": (1.5e-6, 1.8e-6),
    "K": (1.95e-6, 2.45e-6),
    "JHK": (1.1e-6, 2.45e-6),
    "L": (2.8e-6, 4.2e-6),
    "M": (4.5e-6, 5.0e-6),
    "LM": (2.8e-6, 5.0e-6),
    "N": (8.0e-6, 13.0e-6),
}

GRAVITY_RESOLUTION = {"LOW": 22.0, "MEDIUM": 500.0, "HIGH": 4000.0}
PIONIER_RESOLUTION = {"FREE": 5.0, "BROAD": 5.0, "GRISM": 40.0, "SMALL": 18.0, "LARGE": 40.0}
AMBER_RESOLUTION = {"Low": 35.0, "Medium": 1500.0, "High": 12000.0}
#: MATISSE dispersers (INS DIL/DIN NAME) -> ASPRO resolution suffix and resolving power.
MATISSE_LM_RESOLUTION = {
    "LOW": ("LOW", 30.0),
    "MED": ("MEDIUM", 500.0),
    "HIGH": ("HIGH", 1000.0),
    "HIGH+": ("VERY_HIGH", 3500.0),
}
MATISSE_N_RESOLUTION = {"LOW": ("LOW", 30.0), "HIGH": ("HIGH", 220.0)}
MIDI_RESOLUTION = {"PRISM": 30.0, "GRISM": 230.0}


def gravity_setup(header: Header, dpr_type: str | None, raw_category: str | None) -> Setup:
    resolution = header.text("INS SPEC RES")
    polarisation = header.text("INS POLA MODE")
    mode = f"{resolution}-{polarisation}" if resolution and polarisation else None
    fields = " ".join(filter(None, (dpr_type, raw_category, header.text("TPL ID")))).upper()
    submode = "DUAL" if "DUAL" in fields else "SINGLE" if "SINGLE" in fields else None
    low, high = BANDS["K"]
    return Setup(mode, submode, low, high, GRAVITY_RESOLUTION.get(resolution or ""))


def pionier_setup(header: Header, _dpr_type: str | None, _raw: str | None) -> Setup:
    band = header.text("INS FILT1 NAME") or "H"
    disperser = header.text("INS OPTI2 NAME")
    if disperser not in ("GRISM", "FREE"):
        # Before the RAPID detector (2015) OPTI2 held the filter and OPTI3 the prism.
        prism = header.text("INS OPTI3 NAME")
        disperser = prism if prism in ("SMALL", "LARGE") else "BROAD"
    low, high = BANDS.get(band, (None, None))
    return Setup(f"{disperser}-{band}", None, low, high, PIONIER_RESOLUTION.get(disperser))


def amber_setup(header: Header, _dpr_type: str | None, _raw: str | None) -> Setup:
    mode = header.text("OCS OBS SPECCONF")
    if mode is None:
        instrument_mode = header.text("INS MODE") or ""
        mode = instrument_mode.partition("_")[2] or None
    if mode is None:
        return Setup(None, None)
    resolution, _, rest = mode.partition("_")
    band = rest.split("_", 1)[0]
    low, high = BANDS.get(band, (None, None))
    return Setup(mode, None, low, high, AMBER_RESOLUTION.get(resolution))


def matisse_setup(header: Header, _dpr_type: str | None, _raw: str | None) -> Setup:
    if (header.text("DET NAME") or "").endswith("-N"):
        resolution, power = MATISSE_N_RESOLUTION.get(
            header.text("INS DIN NAME") or "", (None, None)
        )
        low, high = BANDS["N"]
        mode = f"HIGH_SENS_N_{resolution}" if resolution else None
        return Setup(mode, None, low, high, power)
    band = header.text("INS FIL NAME") or "LM"
    resolution, power = MATISSE_LM_RESOLUTION.get(header.text("INS DIL NAME") or "", (None, None))
    low, high = BANDS.get(band, BANDS["LM"])
    mode = f"SI_PHOT_{band}_{resolution}" if resolution else None
    return Setup(mode, None, low, high, power)


def midi_setup(header: Header, _dpr_type: str | None, _raw: str | None) -> Setup:
    combiner = header.text("INS OPT1 NAME")
    disperser = header.text("INS GRIS NAME")
    mode = f"{combiner}+{disperser}" if combiner and disperser else None
    low, high = BANDS["N"]
    return Setup(mode, None, low, high, MIDI_RESOLUTION.get(disperser or ""))


SETUPS = {
    "GRAVITY": gravity_setup,
    "PIONIER": pionier_setup,
    "AMBER": amber_setup,
    "MATISSE": matisse_setup,
    "MIDI": midi_setup,
}

#: How each instrument's total exposure time is read: keywords tried in order, either
#: ``("EXPTIME",)`` (a total) or ``(DIT keyword, NDIT keyword)``. EXPTIME is per-DIT for
#: MATISSE and AMBER and absent from GRAVITY, so it is only trusted for PIONIER and MIDI.
EXPOSURE_TIME = {
    "GRAVITY": (("DET2 SEQ1 DIT", "DET2 NDIT"), ("DET2 DIT", "DET2 NDIT")),
    "MATISSE": (("DET SEQ1 DIT", "DET NDIT"), ("DET DIT", "DET NDIT")),
    "AMBER": (("DET DIT", "DET NDIT"), ("DET SEQ1 DIT", "DET NDIT")),
    "PIONIER": (("EXPTIME",), ("DET DIT", "DET NDIT")),
    "MIDI": (("EXPTIME",), ("DET DIT", "DET NDIT")),
}

#: Archive file prefix of each instrument (``GRAVI.2020-01-27T03:39:22.003``).
DP_ID_PREFIXES = {
    "GRAVITY": "GRAVI",
    "PIONIER": "PIONI",
    "MATISSE": "MATIS",
    "AMBER": "AMBER",
    "MIDI": "MIDI",
}
