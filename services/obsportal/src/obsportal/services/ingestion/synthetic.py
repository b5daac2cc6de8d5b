"""Realistic synthetic ESO VLTI headers, for scale tests, the benchmark and demo data.

The mix follows the real archive: most raw frames are calibrations and technical frames
(sky, dark, flat, wave, P2VM, lamp, acquisition, AMBER fringe search, MIDI photometry),
about 30% are science or calibrator exposures, grouped in observing blocks of a few frames
on one target with one setup. Real-world defects are sprinkled in at realistic rates:
missing or -1 weather values, 0/0 coordinates, ``OBJECT='STD'`` placeholders, products with
only ``PRO REC1 RAW1 CATG``, both PIONIER keyword eras, old and new programme ids, and the
rare header that must be rejected (truncated, non-ASCII, duplicate keyword, no ARCFILE,
unknown instrument, not a header at all).

Everything derives from ``(seed, index)``, so any slice of a set can be regenerated alone
(in a worker process) and a set is identical from run to run.
"""

import functools
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from time import gmtime, strftime

from .cards import CARD_LENGTH
from .extract import RawHeader

FRAMES_PER_BLOCK = 8
TARGETS = 5500
#: Each instrument's frames fall in its own years of operation (MJD of first light).
FIRST_MJD = {
    "AMBER": 53400.0,
    "MIDI": 52900.0,
    "PIONIER": 55800.0,
    "GRAVITY": 57400.0,
    "MATISSE": 58150.0,
}
#: Blocks are spread over 8 years in slots of 1000 s, in a seed-dependent shuffled order
#: (a bijection, so archive ids never collide); frames of a block are 97 s apart.
SLOT_S = 1000.0
SLOTS = 8 * 365 * 86400 // 1000
SLOT_STRIDE = 104_729
FRAME_SPACING_S = 97.0

INSTRUMENT_WEIGHTS = (
    ("GRAVITY", 35),
    ("PIONIER", 25),
    ("MATISSE", 18),
    ("AMBER", 12),
    ("MIDI", 10),
)
PREFIXES = {
    "GRAVITY": "GRAVI",
    "PIONIER": "PIONI",
    "MATISSE": "MATIS",
    "AMBER": "AMBER",
    "MIDI": "MIDI",
}
#: Observing blocks that are science (or calibrator) exposures; the rest are technical.
INTERFEROMETRIC_SHARE = 0.30
CALIBRATOR_SHARE = 0.35
TECHNICAL_TYPES = {
    "GRAVITY": (
        ("CALIB", "DARK"),
        ("CALIB", "FLAT"),
        ("CALIB", "WAVE,LAMP"),
        ("CALIB", "P2VM"),
        ("SCIENCE", "SKY,SINGLE"),
        ("ACQUISITION", "OBJECT"),
    ),
    "PIONIER": (("CALIB", "DARK"), ("CALIB", "KAPPA"), ("CALIB", "FLAT"), ("SCIENCE", "SKY")),
    "MATISSE": (("CALIB", "DARK"), ("SCIENCE", "SKY"), ("CALIB", "SOURCE,FLUX"), ("CALIB", "FLAT")),
    "AMBER": (
        ("SCIENCE", "FRNSRC,BASE12"),
        ("SCIENCE", "CPTPIST,BASE12"),
        ("CALIB", "P2VM"),
        ("CALIB", "DARK"),
        ("CALIB", "WAVE"),
    ),
    "MIDI": (
        ("SCIENCE", "PHOTOMETRY,OBJECT"),
        ("SCIENCE", "SEARCH,OBJECT,DISPERSED"),
        ("CALIB", "DARK"),
        ("ACQUISITION", "OBJECT"),
    ),
}
SCIENCE_TYPES = {
    "GRAVITY": ("OBJECT,SINGLE", "OBJECT,DUAL"),
    "PIONIER": ("FRINGE,OBJECT",),
    "MATISSE": ("OBJECT",),
    "AMBER": ("OBJECT",),
    "MIDI": ("TRACK,OBJECT,DISPERSED",),
}
#: VLTI station positions (metres, on the platform's P/Q grid); baselines are their distances.
STATION_POSITIONS = {
    "A0": (-32.001, -48.013), "A1": (-32.001, -64.021), "B2": (-23.991, -72.011),
    "B5": (-23.991, -96.012), "C1": (-16.002, -64.011), "D0": (0.010, -48.012),
    "E0": (16.011, -48.016), "G0": (32.017, -48.017), "G1": (32.020, -112.010),
    "G2": (31.995, -24.003), "H0": (64.015, -48.007),
    "J2": (88.016, -96.005), "J3": (88.016, 7.996), "J6": (88.016, 71.990),
    "K0": (96.002, -48.006), "U1": (-16.000, -16.000), "U2": (24.000, 24.000),
    "U3": (64.001, 47.973), "U4": (112.000, 8.000),
}  # fmt: skip
#: Configurations offered to each instrument: GRAVITY, PIONIER and MATISSE combine four
#: telescopes (the AT quadruplets of recent periods, or the UTs), AMBER three, MIDI two.
QUADRUPLETS = (
    ("A0", "B2", "D0", "C1"),
    ("K0", "G2", "D0", "J3"),
    ("A0", "G1", "J2", "J3"),
    ("A0", "G1", "J2", "K0"),
    ("A0", "B5", "J2", "J6"),
    ("U1", "U2", "U3", "U4"),
)
STATIONS = {
    "GRAVITY": QUADRUPLETS,
    "PIONIER": QUADRUPLETS,
    "MATISSE": QUADRUPLETS,
    "AMBER": (
        ("E0", "G0", "H0"),
        ("D0", "H0", "G1"),
        ("A0", "K0", "G1"),
        ("A1", "B2", "C1"),
        ("U1", "U2", "U4"),
        ("U1", "U3", "U4"),
        ("U2", "U3", "U4"),
    ),
    "MIDI": (
        ("E0", "G0"),
        ("G0", "H0"),
        ("D0", "G0"),
        ("E0", "H0"),
        ("A0", "G1"),
        ("K0", "G1"),
        ("U1", "U2"),
        ("U2", "U3"),
        ("U3", "U4"),
        ("U1", "U4"),
    ),
}
DEFECTS = (
    "truncated_card",
    "non_ascii",
    "duplicate_keyword",
    "missing_arcfile",
    "unknown_instrument",
    "not_a_header",
)
#: Share of headers carrying a defect that must be rejected.
REJECT_SHARE = 0.002


def card(keyword: str, value: str | float | int | bool, comment: str = "") -> str:
    """One 80-character card; ESO keywords get the ``HIERARCH ESO`` prefix."""
    prefix, standard = _card_prefix(keyword)
    if isinstance(value, bool):
        text = "T" if value else "F"
    elif isinstance(value, str):
        text = "'" + value.replace("'", "''").ljust(8) + "'"
        standard = False  # strings start right after "= "
    else:
        text = repr(value)
    body = prefix + (f"{text:>20}" if standard else text)
    if comment:
        body = f"{body} / {comment}"
    return body[:80].ljust(80)


@functools.cache
def _card_prefix(keyword: str) -> tuple[str, bool]:
    if keyword.isupper() and len(keyword) <= 8 and " " not in keyword:
        return f"{keyword:<8}= ", True
    return f"HIERARCH ESO {keyword} = ", False


@dataclass(frozen=True)
class SyntheticChunk:
    seed: int
    start: int
    count: int

    def headers(self) -> Iterator[RawHeader]:
        for index in range(self.start, self.start + self.count):
            yield RawHeader(f"synthetic:{self.seed}:{index}", synthetic_header(self.seed, index))


@dataclass(frozen=True)
class SyntheticSource:
    count: int
    seed: int = 42
    chunk_size: int = 1000

    @property
    def description(self) -> str:
        return f"synthetic:{self.count}@{self.seed}"

    def chunks(self) -> Iterator[SyntheticChunk]:
        for start in range(0, self.count, self.chunk_size):
            yield SyntheticChunk(self.seed, start, min(self.chunk_size, self.count - start))


@functools.cache
def _target(number: int) -> tuple[str, float, float]:
    catalogue = ("HD", "HIP", "HR", "IRAS", "V*")[number % 5]
    local = random.Random(number)
    ra = round(local.uniform(0, 360), 6)
    dec = round(local.uniform(-88, 30), 5)
    return f"{catalogue} {100000 + number * 7}", ra, dec


def _program(rng: random.Random, mjd: float) -> str:
    period = int((mjd - 51179) / 182.6) + 60  # P60 started in 1999
    if period >= 106:
        return f"{period}.{rng.randrange(16**4):04X}.{rng.randrange(1, 4):03d}"
    letter = "ABCDEL"[rng.randrange(6)]
    return f"{period:03d}.{letter}-{rng.randrange(10000):04d}({'ABCD'[rng.randrange(4)]})"


def synthetic_header(seed: int, index: int) -> bytes:
    """Header number ``index`` of the synthetic set ``seed``."""
    block = _block(seed, index // FRAMES_PER_BLOCK)
    instrument = block.instrument
    frame = random.Random((seed * 1_000_003 + index) * 7 + 1)
    # Sub-second jitter stays far below the 97 s between frames, so ids remain unique.
    jitter = frame.randrange(1, 1000) / 1000
    mjd = FIRST_MJD[instrument] + (_offset_seconds(seed, index) + jitter) / 86400
    stamp = _timestamp(mjd)
    times = (
        card("MJD-OBS", round(mjd, 8), "Obs start"),
        card("DATE-OBS", stamp[:23]),
        card("ARCFILE", f"{PREFIXES[instrument]}.{stamp}.fits", "Archive File Name"),
        card("ORIGFILE", f"{instrument}_OBS{index % 1000:03d}_{index % 10000:04d}.fits"),
    )
    detector = _detector_cards(instrument, frame)
    baselines = _baseline_cards(block, frame)
    weather = _weather_cards(frame)
    # The three stretches of read cards between which a real header's other cards go.
    sections = [
        block.head + _lines(times) + block.observation,
        block.setup + _lines(detector),
        block.array + baselines + weather,
    ]
    if frame.random() < 0.003:
        ra, dec = repr(block.ra), repr(block.dec)
        sections = [text.replace(ra, "0.0").replace(dec, "0.0") for text in sections]
    read_cards = block.card_count + len(times) + len(detector)
    read_cards += (len(baselines) + len(weather)) // (CARD_LENGTH + 1)
    data = _real_size(instrument, seed, index, read_cards, sections)
    if frame.random() < REJECT_SHARE:
        data = _defect(frame.choice(DEFECTS), data)
    return data


def _lines(cards: Iterable[str]) -> str:
    return "".join(text + "\n" for text in cards)


@dataclass(frozen=True)
class _Block:
    """What the frames of one observing block share, cards already written (one per line)."""

    instrument: str
    ra: float
    dec: float
    head: str  # up to the frame's time cards
    observation: str  # observation and category cards
    setup: str  # instrument setup cards
    array: str  # number of telescopes and stations
    #: Ground length of each baseline, and the format of the cards of their projections.
    grounds: tuple[float, ...]
    baseline_format: str
    card_count: int


@functools.lru_cache(maxsize=256)
def _block(seed: int, number: int) -> _Block:
    block = random.Random(seed * 1_000_003 + number)
    instrument = block.choices(*zip(*INSTRUMENT_WEIGHTS, strict=True))[0]
    # Programme and setup follow the time of the block's first frame.
    mjd = FIRST_MJD[instrument] + _offset_seconds(seed, number * FRAMES_PER_BLOCK) / 86400
    interferometric = block.random() < INTERFEROMETRIC_SHARE
    if interferometric:
        calibrator = block.random() < CALIBRATOR_SHARE
        catg = "CALIB" if calibrator else "SCIENCE"
        dpr_type = block.choice(SCIENCE_TYPES[instrument])
    else:
        catg, dpr_type = block.choice(TECHNICAL_TYPES[instrument])
    name, ra, dec = _target(block.randrange(TARGETS))
    stations = block.choice(STATIONS[instrument])
    head = (
        card("SIMPLE", True, "Standard FITS"),
        card("BITPIX", 16),
        card("NAXIS", 0),
        card("TELESCOP", f"ESO-VLTI-{'U' if stations[0][0] == 'U' else 'A'}1234"),
        card("INSTRUME", instrument, "Instrument used."),
        card("OBJECT", "STD" if catg == "CALIB" and block.random() < 0.3 else name),
        card("RA", ra, "[deg] RA (J2000) pointing"),
        card("DEC", dec, "[deg] DEC (J2000) pointing"),
    )
    observation = [
        card("OBS ID", 200000000 + seed * 10000000 % 90000000 + number),
        card("OBS PROG ID", _program(block, mjd), "ESO program identification"),
        card("OBS TARG NAME", name, "OB target name"),
        card("TPL ID", f"{instrument}_obs_exp"),
    ]
    product = instrument in ("GRAVITY", "MATISSE") and block.random() < 0.05
    observation += _category_cards(instrument, catg, dpr_type, product)
    setup = _setup_cards(instrument, block, mjd)
    array = [card("ISS CONF NTEL", len(stations))]
    array += [card(f"ISS CONF STATION{i}", name) for i, name in enumerate(stations, 1)]
    pairs = [
        (first, second)
        for first in range(1, len(stations))
        for second in range(first + 1, len(stations) + 1)
    ]
    grounds = tuple(_ground_length(stations[i - 1], stations[j - 1]) for i, j in pairs)
    baseline_format = _number_cards_format(
        f"ISS PBL{kind}{i}{j} {edge}" for i, j in pairs for kind in ("", "A")
        for edge in ("START", "END")
    )  # fmt: skip
    return _Block(
        instrument, ra, dec, _lines(head), _lines(observation), _lines(setup), _lines(array),
        grounds, baseline_format, len(head) + len(observation) + len(setup) + len(array),
    )  # fmt: skip


#: Card counts of real ESO headers per instrument (the shared sample's smallest and largest;
#: MIDI, absent from it, like PIONIER): a header gets a count drawn evenly in between, the
#: cards ingestion reads and the rest of a real header's mix (instrument, detector, telescope,
#: delay line, metrology and acquisition keywords, comments).
CARD_COUNTS = {
    "GRAVITY": (1278, 2005),
    "MATISSE": (1403, 1515),
    "PIONIER": (461, 569),
    "AMBER": (624, 692),
    "MIDI": (461, 569),
}
#: Where the other cards go: after the category cards, the instrument and detector cards
#: and the array cards, as the sections of a real header follow each other.
FILLER_SHARES = (0.15, 0.6)  # of the other cards: before the instrument section, before ISS
FILLER_FAMILIES = (
    ("TEL", ("AMBI PRES{n}", "AMBI RHUM{n}", "AXIS{n} POS", "FOCU{n} VALUE", "DOME{n} STATUS")),
    ("INS", ("TEMP{n} VAL", "SENS{n} VAL", "MIRR{n} NAME", "SHUT{n} ST", "LAMP{n} ST")),
    ("DET", ("CHIP{n} NX", "CHIP{n} NY", "WIN{n} STRX", "READ{n} CURNAME", "FRAM{n} UTC")),
    ("DEL", ("DLT{n} OPL START", "DLT{n} OPL END", "DLT{n} VCM STATE", "FT{n} SENSOR")),
    ("MET", ("FC{n} TEMP", "TEL{n} PHASE", "LAS{n} POWER", "SOURCE{n} NAME")),
    ("ACQ", ("CAM{n} XPOS", "CAM{n} YPOS", "FIELD{n} NAME", "PUP{n} STATE")),
    ("OCS", ("DET{n} IMGNAME", "MET{n} MODE", "SEQ{n} NAME", "EXPO{n} FNAME")),
)


@functools.cache
def _filler(instrument: str) -> bytes:
    """Enough cards of a real header's mix for the largest header of ``instrument``."""
    rng = random.Random(instrument)
    cards = []
    for number in range(CARD_COUNTS[instrument][1]):
        if number % 97 == 0:
            cards.append(f"COMMENT   {instrument} {rng.choice(('template', 'setup'))} {number}")
            continue
        category, names = FILLER_FAMILIES[number % len(FILLER_FAMILIES)]
        name = rng.choice(names).format(n=number)
        value = rng.choice(
            (round(rng.uniform(-500, 500), 6), rng.randrange(100_000), rng.random() < 0.2,
             name.title().replace(" ", "_"))
        )  # fmt: skip
        comment = rng.choice(("", "[deg]", "Status", "Sensor value"))
        cards.append(card(f"{category} {name}", value, comment))
    return "".join(text[:80].ljust(80) + "\n" for text in cards).encode("ascii")


def _real_size(
    instrument: str, seed: int, index: int, read_cards: int, sections: list[str]
) -> bytes:
    """The header with as many cards as a real one, the read cards among the others."""
    low, high = CARD_COUNTS[instrument]
    # A hash of (seed, index) rather than the random streams, which decide the rest.
    total = low + (index * 2_654_435_761 + seed * 40_503) % (high - low + 1)
    others = max(total - read_cards - 1, 0)
    filler = memoryview(_filler(instrument))  # slices without copies
    width = CARD_LENGTH + 1
    first, second = (round(others * share) for share in FILLER_SHARES)
    return b"".join(
        (
            sections[0].encode("ascii"),
            filler[: first * width],
            sections[1].encode("ascii"),
            filler[first * width : (first + second) * width],
            sections[2].encode("ascii"),
            filler[(first + second) * width : others * width],
            END_CARD,
        )
    )


END_CARD = b"END".ljust(CARD_LENGTH) + b"\n"


def _offset_seconds(seed: int, index: int) -> float:
    block, position = divmod(index, FRAMES_PER_BLOCK)
    slot = (block * SLOT_STRIDE + seed * 7_919) % SLOTS
    # Past SLOTS blocks the slots repeat, one millisecond later each lap.
    return slot * SLOT_S + position * FRAME_SPACING_S + (block // SLOTS) * 0.001


def _timestamp(mjd: float) -> str:
    milliseconds = round((mjd - 40587) * 86400 * 1000)  # MJD 40587 = 1970-01-01
    seconds, millis = divmod(milliseconds, 1000)
    return f"{strftime('%Y-%m-%dT%H:%M:%S', gmtime(seconds))}.{millis:03d}"


def _category_cards(instrument: str, catg: str, dpr_type: str, product: bool) -> list[str]:
    tech = "IMAGE" if catg == "ACQUISITION" else "INTERFEROMETRY"
    if product:
        raw = {
            ("GRAVITY", "SCIENCE"): "SINGLE_SCI_RAW",
            ("GRAVITY", "CALIB"): "SINGLE_CAL_RAW",
            ("MATISSE", "SCIENCE"): "TARGET_RAW",
            ("MATISSE", "CALIB"): "CALIB_RAW",
        }.get((instrument, catg))
        if raw and dpr_type in ("OBJECT,SINGLE", "OBJECT"):
            return [card("PRO CATG", "TARGET_CAL_INT"), card("PRO REC1 RAW1 CATG", raw)]
    return [card("DPR CATG", catg), card("DPR TYPE", dpr_type), card("DPR TECH", tech)]


def _setup_cards(instrument: str, rng: random.Random, mjd: float) -> list[str]:
    if instrument == "GRAVITY":
        return [
            card("INS MODE", "PARALLEL"),
            card("INS SPEC RES", rng.choice(("MEDIUM", "HIGH", "LOW"))),
            card("INS POLA MODE", rng.choice(("COMBINED", "SPLIT"))),
        ]
    if instrument == "PIONIER":
        band = rng.choice(("H", "H", "H", "K"))
        common = [card("INS MODE", f"OBSERV-{band}"), card("INS FILT1 NAME", band)]
        if mjd < 57300:  # before the RAPID detector: prism in OPTI3
            return [
                *common,
                card("INS OPTI2 NAME", band),
                card("INS OPTI3 NAME", rng.choice(("SMALL", "LARGE", "FREE"))),
            ]
        return [*common, card("INS OPTI2 NAME", rng.choice(("GRISM", "FREE")))]
    if instrument == "MATISSE":
        return [
            card("INS MODE", "HYBRID"),
            card("DET NAME", "MATISSE-LM"),
            card("INS FIL NAME", rng.choice(("L", "LM", "M"))),
            card("INS DIL NAME", rng.choice(("LOW", "MED", "HIGH", "HIGH+"))),
            card("INS DIN NAME", "LOW"),
            card("INS PIL NAME", "PHOTO"),
        ]
    if instrument == "AMBER":
        mode = rng.choice(("Low_JHK", "Medium_K_1_2.1", "Medium_K_1_2.3", "Medium_H_1_1.65"))
        return [card("INS MODE", f"3Tstd_{mode}"), card("OCS OBS SPECCONF", mode)]
    return [
        card("INS OPT1 NAME", rng.choice(("HIGH_SENS", "SCI_PHOT"))),
        card("INS GRIS NAME", rng.choice(("PRISM", "GRISM"))),
    ]


def _detector_cards(instrument: str, rng: random.Random) -> tuple[str, ...]:
    if instrument == "GRAVITY":
        return _detector_setup(instrument, rng.choice((1.0, 10.0, 30.0)), 10)
    dit = rng.choice((0.0005, 0.02, 0.111))
    return _detector_setup(instrument, dit, rng.choice((100, 500, 1000)))


@functools.cache
def _detector_setup(instrument: str, dit: float, ndit: int) -> tuple[str, ...]:
    """The detector cards of a frame, written once for each of the few settings."""
    if instrument == "GRAVITY":
        return (
            card("DET2 SEQ1 DIT", dit),
            card("DET2 NDIT", ndit),
            card("DET1 SEQ1 DIT", 0.7),
            card("DET1 NDIT", 200),
        )
    cards = (card("DET DIT", dit), card("DET NDIT", ndit))
    if instrument in ("MATISSE", "AMBER"):
        return (*cards, card("EXPTIME", dit, "Integration time"))  # per-DIT, a known trap
    return (*cards, card("EXPTIME", round(dit * ndit, 4), "Integration time"))


def _baseline_cards(block: _Block, rng: random.Random) -> str:
    """The projected baselines of one frame (the block's cards carry the stations)."""
    values = []
    # rng.uniform(a, b) written out as it computes, a + (b - a) * random(): the same numbers
    # without a Python call each (measured ~3 us a header faster).
    random = rng.random
    for ground in block.grounds:
        # Projection shortens the ground baseline (by the target's elevation).
        length = round(ground * (0.55 + (1.0 - 0.55) * random()), 3)
        angle = round(360 * random(), 3)
        values += (
            length,
            round(min(ground, length + (-1 + 2 * random())), 3),
            angle,
            round(angle + (-2 + 4 * random()), 3),
        )
    return block.baseline_format % tuple(values)


def _number_cards_format(keywords: Iterable[str]) -> str:
    """A %-format writing numbers as :func:`card` does under ``HIERARCH`` prefixes without
    comment, one card a line (the values are far shorter than a card)."""
    return "".join(
        f"{prefix}%-{CARD_LENGTH - len(prefix)}r\n"
        for prefix in (_card_prefix(keyword)[0].replace("%", "%%") for keyword in keywords)
    )


def _ground_length(first: str, second: str) -> float:
    (p1, q1), (p2, q2) = STATION_POSITIONS[first], STATION_POSITIONS[second]
    return math.hypot(p2 - p1, q2 - q1)


_WEATHER_FORMAT = _number_cards_format(
    f"ISS AMBI {name}" for name in ("FWHM START", "FWHM END", "TAU0 START", "TAU0 END", "TEMP")
)


def _weather_cards(rng: random.Random) -> str:
    if rng.random() < 0.01:
        return ""  # weather station down: no ambient keywords at all
    seeing = round(rng.uniform(0.4, 1.6), 2)
    tau0 = round(rng.uniform(0.001, 0.012), 6)
    values = (
        -1.0 if rng.random() < 0.005 else seeing,
        round(seeing + rng.uniform(-0.1, 0.1), 2),
        tau0,
        tau0,
        round(rng.uniform(5, 20), 2),
    )
    return _WEATHER_FORMAT % values


def _defect(kind: str, data: bytes) -> bytes:
    """Damage a header the way real exports have been damaged."""
    if kind == "truncated_card":
        return data[: data.index(b"ARCFILE") + 20] + b"\n" + b"END".ljust(80) + b"\n"
    if kind == "non_ascii":
        return data.replace(b"OB target name", "OB target nâme".encode(), 1)
    if kind == "duplicate_keyword":
        line = data.split(b"\n")[6]
        return data.replace(line, line + b"\n" + line, 1)
    if kind == "missing_arcfile":
        return b"\n".join(line for line in data.split(b"\n") if not line.startswith(b"ARCFILE"))
    if kind == "unknown_instrument":
        return data.replace(data.split(b"\n")[4], card("INSTRUME", "ESPRESSO").encode(), 1)
    return b"This is not a FITS header but a stray note in the export folder.\n"
