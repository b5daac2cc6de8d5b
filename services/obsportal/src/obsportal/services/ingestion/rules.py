"""Science / calibrator / excluded rules, one declarative table per instrument.

A header is classified from its data-product category (``DPR CATG``, ``DPR TYPE``,
``DPR TECH``). Pipeline products may lack the DPR keys; their first raw frame's category
(``PRO REC1 RAW1 CATG``) is translated to DPR terms through the instrument's
``raw_categories``. The first rule that matches decides, and its name is recorded for every
header (``exposures.classification_rule``, ``excluded_headers.classification_rule``, run
counts), so a surprising count points straight at the rule responsible.

Sources: ESO EDPS/Reflex classification rules for GRAVITY, the MATISSE consortium's
``matisseType``, real product headers, the ESO archive's AMBER answers (fringe-search and
piston frames are tagged SCIENCE).
"""

import functools
from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    science = "science"
    calibrator = "calibrator"
    excluded = "excluded"


@dataclass(frozen=True)
class Category:
    catg: str
    type: str
    tech: str

    @property
    def type_tokens(self) -> frozenset[str]:
        return frozenset(token.strip() for token in self.type.split(","))


@dataclass(frozen=True)
class Rule:
    """Matches when every given condition holds; ``None`` means "any"."""

    name: str
    decision: Decision
    catg: frozenset[str] | None = None
    types: frozenset[str] | None = None
    type_tokens: frozenset[str] | None = None
    tech_token: str | None = None
    tech_token_absent: str | None = None

    def matches(self, category: Category) -> bool:
        return (
            (self.catg is None or category.catg in self.catg)
            and (self.types is None or category.type in self.types)
            and (self.type_tokens is None or bool(self.type_tokens & category.type_tokens))
            and (self.tech_token is None or self.tech_token in category.tech)
            and (self.tech_token_absent is None or self.tech_token_absent not in category.tech)
        )


@dataclass(frozen=True)
class InstrumentRules:
    instrument: str
    rules: tuple[Rule, ...]
    #: ``PRO REC1 RAW1 CATG`` of products without DPR keys -> the raw frame's DPR category.
    raw_categories: dict[str, Category]

    def classify(self, category: Category) -> Rule:
        for rule in self.rules:
            if rule.matches(category):
                return rule
        return Rule(f"{self.instrument.lower()}.unmatched", Decision.excluded)


def _set(*values: str) -> frozenset[str]:
    return frozenset(values)


SCIENCE, CALIBRATOR, EXCLUDED = Decision.science, Decision.calibrator, Decision.excluded
INTERFEROMETRY = "INTERFEROMETRY"
#: Frame types that are never an interferometric exposure of a target, for every instrument.
CALIBRATION_TYPES = _set(
    "SKY",
    "DARK",
    "FLAT",
    "WAVE",
    "WAVESC",
    "WAVELAMP",
    "LAMP",
    "P2VM",
    "DISP",
    "PIEZOTF",
    "BIAS",
    "BACKGROUND",
    "SOURCE",
    "KAPPA",
    "BADPIX",
    "DETCAL",
    "FLUX",
)


def _common_exclusions(prefix: str) -> tuple[Rule, ...]:
    return (
        Rule(f"{prefix}.acquisition", EXCLUDED, catg=_set("ACQUISITION")),
        Rule(f"{prefix}.acquisition", EXCLUDED, type_tokens=_set("ACQ", "ACQUISITION")),
        Rule(f"{prefix}.sky", EXCLUDED, type_tokens=_set("SKY")),
        Rule(f"{prefix}.dark", EXCLUDED, type_tokens=_set("DARK", "BIAS", "BACKGROUND")),
        Rule(f"{prefix}.flat", EXCLUDED, type_tokens=_set("FLAT")),
        Rule(f"{prefix}.wave", EXCLUDED, type_tokens=_set("WAVE", "WAVESC", "WAVELAMP", "DISP")),
        Rule(f"{prefix}.p2vm", EXCLUDED, type_tokens=_set("P2VM", "PIEZOTF", "KAPPA")),
        Rule(f"{prefix}.lamp", EXCLUDED, type_tokens=_set("LAMP", "SOURCE")),
        Rule(f"{prefix}.not_interferometric", EXCLUDED, tech_token_absent=INTERFEROMETRY),
    )


GRAVITY = InstrumentRules(
    instrument="GRAVITY",
    rules=(
        *_common_exclusions("gravity"),
        Rule(
            "gravity.science",
            SCIENCE,
            catg=_set("SCIENCE"),
            types=_set("OBJECT,SINGLE", "OBJECT,DUAL"),
        ),
        Rule(
            "gravity.calibrator",
            CALIBRATOR,
            catg=_set("CALIB"),
            types=_set("OBJECT,SINGLE", "STD,SINGLE", "OBJECT,DUAL", "STD,DUAL"),
        ),
    ),
    raw_categories={
        "SINGLE_SCI_RAW": Category("SCIENCE", "OBJECT,SINGLE", INTERFEROMETRY),
        "DUAL_SCI_RAW": Category("SCIENCE", "OBJECT,DUAL", INTERFEROMETRY),
        "SINGLE_CAL_RAW": Category("CALIB", "STD,SINGLE", INTERFEROMETRY),
        "DUAL_CAL_RAW": Category("CALIB", "STD,DUAL", INTERFEROMETRY),
        "SINGLE_SKY_RAW": Category("SCIENCE", "SKY,SINGLE", INTERFEROMETRY),
        "DUAL_SKY_RAW": Category("SCIENCE", "SKY,DUAL", INTERFEROMETRY),
        "DARK_RAW": Category("CALIB", "DARK", INTERFEROMETRY),
        "FLAT_RAW": Category("CALIB", "FLAT", INTERFEROMETRY),
        "WAVE_RAW": Category("CALIB", "WAVE", INTERFEROMETRY),
        "WAVESC_RAW": Category("CALIB", "WAVESC", INTERFEROMETRY),
        "P2VM_RAW": Category("CALIB", "P2VM", INTERFEROMETRY),
        "DISP_RAW": Category("CALIB", "DISP", INTERFEROMETRY),
        "PIEZOTF_RAW": Category("CALIB", "PIEZOTF", INTERFEROMETRY),
    },
)

MATISSE = InstrumentRules(
    instrument="MATISSE",
    rules=(
        *_common_exclusions("matisse"),
        Rule(
            "matisse.science",
            SCIENCE,
            catg=_set("SCIENCE", "TEST"),
            types=_set("OBJECT"),
            tech_token=INTERFEROMETRY,
        ),
        Rule(
            "matisse.calibrator",
            CALIBRATOR,
            catg=_set("CALIB"),
            types=_set("OBJECT", "STD", "OBJECT,FLUX"),
            tech_token=INTERFEROMETRY,
        ),
        Rule(
            "matisse.calibrator",
            CALIBRATOR,
            catg=_set("TEST"),
            types=_set("STD"),
            tech_token=INTERFEROMETRY,
        ),
    ),
    raw_categories={
        "TARGET_RAW": Category("SCIENCE", "OBJECT", INTERFEROMETRY),
        "CALIB_RAW": Category("CALIB", "STD", INTERFEROMETRY),
        "SKY_RAW": Category("SCIENCE", "SKY", INTERFEROMETRY),
        "HOT_DARK": Category("CALIB", "DARK", INTERFEROMETRY),
        "CALIB_SRC_RAW": Category("CALIB", "SOURCE", INTERFEROMETRY),
    },
)

PIONIER = InstrumentRules(
    instrument="PIONIER",
    rules=(
        *_common_exclusions("pionier"),
        Rule(
            "pionier.science",
            SCIENCE,
            catg=_set("SCIENCE"),
            types=_set("FRINGE,OBJECT", "OBJECT"),
        ),
        Rule(
            "pionier.calibrator",
            CALIBRATOR,
            catg=_set("CALIB"),
            types=_set("FRINGE,OBJECT", "FRINGE,STD", "OBJECT", "STD"),
        ),
    ),
    raw_categories={
        "TARGET_RAW": Category("SCIENCE", "FRINGE,OBJECT", INTERFEROMETRY),
        "CALIB_RAW": Category("CALIB", "FRINGE,OBJECT", INTERFEROMETRY),
        "DARK_RAW": Category("CALIB", "DARK", INTERFEROMETRY),
        "KAPPA_RAW": Category("CALIB", "KAPPA", INTERFEROMETRY),
    },
)

AMBER = InstrumentRules(
    instrument="AMBER",
    rules=(
        # Fringe-search and piston frames are tagged SCIENCE: exclude them before science.
        Rule("amber.fringe_search", EXCLUDED, type_tokens=_set("FRNSRC")),
        Rule("amber.piston", EXCLUDED, type_tokens=_set("CPTPIST")),
        *_common_exclusions("amber"),
        Rule("amber.science", SCIENCE, catg=_set("SCIENCE"), types=_set("OBJECT")),
        Rule("amber.calibrator", CALIBRATOR, catg=_set("CALIB"), types=_set("OBJECT", "STD")),
    ),
    raw_categories={
        "SCIENCE_REDUCED": Category("SCIENCE", "OBJECT", INTERFEROMETRY),
        "CALIB_REDUCED": Category("CALIB", "OBJECT", INTERFEROMETRY),
    },
)

MIDI = InstrumentRules(
    instrument="MIDI",
    rules=(
        Rule("midi.fringe_search", EXCLUDED, type_tokens=_set("SEARCH", "FRINGE_SEARCH")),
        Rule("midi.photometry", EXCLUDED, type_tokens=_set("PHOTOMETRY")),
        *_common_exclusions("midi"),
        Rule(
            "midi.science",
            SCIENCE,
            catg=_set("SCIENCE"),
            type_tokens=_set("TRACK", "FRINGE_TRACK"),
        ),
        Rule(
            "midi.calibrator",
            CALIBRATOR,
            catg=_set("CALIB"),
            type_tokens=_set("TRACK", "FRINGE_TRACK"),
        ),
    ),
    raw_categories={},
)

INSTRUMENT_RULES: dict[str, InstrumentRules] = {
    rules.instrument: rules for rules in (GRAVITY, MATISSE, PIONIER, AMBER, MIDI)
}


@functools.lru_cache(maxsize=1024)
def classify(instrument: str, category: Category) -> Rule:
    """The rule deciding a category of ``instrument``'s frames; an archive has few categories,
    so each is matched against the rules once."""
    return INSTRUMENT_RULES[instrument].classify(category)
