"""The real ESO headers of the shared data classify and extract as the facts document says."""

from pathlib import Path

import pytest

from obsportal.services.ingestion.extract import RawHeader, process
from obsportal.services.ingestion.sources import DirectorySource, read_header_file
from obsportal.storage.ingestion_records import Accepted, Rejected

from .ingestion_support import REAL_HEADERS, SHARED


def outcome(name: str):
    path = REAL_HEADERS / name
    return process(RawHeader(str(path), read_header_file(path)))


def test_gravity_2020_high_combined_single():
    exposure = outcome("GRAVITY_2020-01-27T03-39-22.003_primary.hdr")
    assert isinstance(exposure, Accepted)
    assert exposure.header_id == "GRAVI.2020-01-27T03:39:22.003"
    assert exposure.exp_id == "GRAVI.2020-01-27T03:39:22.003_1"
    assert exposure.obs_type == "science"
    # No DPR keys in this product: classified from PRO REC1 RAW1 CATG = SINGLE_SCI_RAW.
    assert exposure.classification_rule == "gravity.science"
    assert (exposure.instrument_mode, exposure.instrument_submode) == ("HIGH-COMBINED", "SINGLE")
    assert exposure.interferometer_stations == "A0 G2 J2 J3"
    assert exposure.program_id == "0104.C-0567(A)"
    assert exposure.target_name == "HD_58647"
    assert (exposure.target_ra, exposure.target_dec) == (111.483684, -14.17877)
    assert exposure.exposure_time == 300.0  # DET2 SEQ1 DIT 30 s x DET2 NDIT 10; no EXPTIME
    assert exposure.projected_baselines["A0-G2"] == {
        "length": {"start": 67.734, "end": 67.881},
        "angle": {"start": 50.5, "end": 50.9},
    }
    assert len(exposure.projected_baselines) == 6
    assert exposure.seeing == pytest.approx(0.60)
    assert exposure.tau0 == pytest.approx((0.009882 + 0.009598) / 2)
    assert exposure.temperature == 13.55
    assert exposure.validation_level == 1 and exposure.validation_log == []  # complete


def test_gravity_2021_new_programme_id_medium_combined():
    exposure = outcome("GRAVITY_2021-01-21T05-41-10.501_primary.hdr")
    assert exposure.program_id == "106.21JR.001"
    assert exposure.instrument_mode == "MEDIUM-COMBINED"
    assert exposure.interferometer_stations == "K0 G2 D0 J3"
    assert exposure.exposure_time == 320.0
    assert exposure.validation_log == []  # the new programme format is recognised


def test_gravity_2016_without_arcfile_is_rejected_with_reason():
    rejected = outcome("GRAVITY_2016-06-23T03-10-17.458_primary.hdr")
    assert isinstance(rejected, Rejected)
    assert rejected.reason == "missing_arcfile"


def test_pionier_both_keyword_eras():
    old = outcome("PIONIER_2014-01-12T00-56-41.191_primary.hdr")
    assert old.instrument_mode == "SMALL-H"  # OPTI2 = filter, OPTI3 = prism before RAPID
    assert old.exposure_time == 26.5728  # PIONIER's EXPTIME is the total
    assert old.interferometer_stations == "D0 A1 C1 B2"
    assert old.projected_baselines["D0-A1"]["length"] == {"start": 35.594, "end": 35.59}
    new = outcome("PIONIER_2016-10-13T06-03-48.523_primary.hdr")
    assert new.instrument_mode == "GRISM-H"
    assert new.classification_rule == "pionier.science"
    assert new.seeing == pytest.approx((1.44 + 1.23) / 2)
    # This product's MJD-OBS is 148 s before its DATE-OBS and archive id: flagged.
    assert new.validation_level == 0
    assert "'MJD-OBS' and 'DATE-OBS' disagree by 148 s" in new.validation_log


def test_matisse_placeholder_object_and_per_dit_exptime():
    calibrator = outcome("MATISSE_2018-05-20T01-19-21.439_primary.hdr")
    assert calibrator.obs_type == "calibrator"  # PRO REC1 RAW1 CATG = CALIB_RAW
    assert calibrator.target_name == "del Vir"  # OBJECT is the 'STD' placeholder
    assert calibrator.instrument_mode == "SI_PHOT_L_LOW"
    assert calibrator.exposure_time == pytest.approx(0.0751997 * 385)  # not EXPTIME (per DIT)
    assert calibrator.interferometer_stations == "A0 G1 J2 K0"
    science = outcome("MATISSE_2018-09-25T09-24-11.692_primary.hdr")
    assert science.obs_type == "science"
    assert science.instrument_mode == "SI_PHOT_LM_LOW"
    assert science.interferometer_stations == "U1 U2 U3 U4"
    assert science.projected_baselines["U1-U2"]["length"] == {"start": 43.139, "end": 43.234}
    assert science.tau0 == 0.004712 and science.temperature == 12.21


def test_amber_modes_and_rewritten_baseline_ends():
    delsco = outcome("AMBER_2010-04-15T07-12-11.258_primary.hdr")
    # DPR says SCIENCE/OBJECT; the product's RAW1 category (AMBER_BADPIX) must not win.
    assert delsco.classification_rule == "amber.science"
    assert delsco.instrument_mode == "Medium_K_1_2.1"
    assert delsco.interferometer_stations == "D0 H0 G1"
    assert delsco.exposure_time == 60.0  # DET DIT 0.5 x NDIT 120; EXPTIME is per DIT
    assert delsco.projected_baselines["D0-H0"]["angle"] == {"start": 18.619185, "end": 18.488167}
    v838 = outcome("AMBER_2013-04-15T01-49-24.803_primary.hdr")
    assert v838.instrument_mode == "Low_JHK"
    assert v838.projected_baselines["D0-A1"]["length"] == {"start": 32.177835, "end": 31.875826}
    assert v838.seeing == pytest.approx(0.655)


def test_fits_primary_header_reads_like_the_dump():
    fits = SHARED / "data" / "oifits" / "oimodeler" / "GRAVI.2020-01-27.fits"
    from_fits = process(RawHeader(str(fits), read_header_file(Path(fits))))
    from_dump = outcome("GRAVITY_2020-01-27T03-39-22.003_primary.hdr")
    assert isinstance(from_fits, Accepted)
    assert from_fits.projected_baselines == from_dump.projected_baselines
    assert from_fits.instrument_mode == from_dump.instrument_mode


def test_real_headers_folder_counts():
    outcomes = [
        process(raw) for chunk in DirectorySource(REAL_HEADERS).chunks() for raw in chunk.headers()
    ]
    assert len(outcomes) == 9
    assert sum(isinstance(item, Accepted) for item in outcomes) == 8
    assert [item.reason for item in outcomes if isinstance(item, Rejected)] == ["missing_arcfile"]
