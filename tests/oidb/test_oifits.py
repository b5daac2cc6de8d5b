"""OIFITS reading: every real file is read (granules or a reason), values match the files,
synthetic files split into granules by target, mode and night, bad inputs are refused with a
reason a person can act on. No database needed."""

import io
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from astropy.io import fits

from oidb.services.oifits import granule_rows, read_oifits

from .conftest import SHARED_OIFITS
from .oifits_factory import make_oifits

REAL_FILES = sorted(path for path in SHARED_OIFITS.rglob("*") if path.is_file())
PIONIER = SHARED_OIFITS / "oimodeler" / "PIONI.2016-10-13T06_03_48.523_oidataCalibrated.fits"
GRAVITY = SHARED_OIFITS / "oimodeler" / "GRAVI.2020-01-27.fits"
GRANULE_COLUMNS = {"target_name", "s_ra", "s_dec", "t_min", "t_max", "em_min", "em_max",
                   "instrument_name", "instrument_mode", "nb_channels", "calib_level"}  # fmt: skip


def test_the_shared_folder_holds_the_26_real_files():
    assert len(REAL_FILES) == 26


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.name[:40])
def test_every_real_file_gives_granules_or_a_reason(path: Path):
    reading = read_oifits(path, filename=path.name)
    if reading.rejected:
        assert reading.reject_reason and not reading.granules
        return
    assert reading.oifits_version in (1, 2)
    assert reading.granules
    for granule in reading.granules:
        row = granule.as_row()
        assert {name for name, value in row.items() if value is not None} >= GRANULE_COLUMNS
        assert row["em_min"] <= row["em_max"] and row["t_min"] <= row["t_max"]
        assert 1e-7 < row["em_min"] < 1e-3


def test_a_pionier_file_gives_the_values_written_in_it():
    reading = read_oifits(PIONIER, filename=PIONIER.name)
    assert not reading.rejected and reading.oifits_version == 1
    (granule,) = reading.granules
    with fits.open(PIONIER) as hdus:
        vis2, waves = hdus["OI_VIS2"].data, hdus["OI_WAVELENGTH"].data["EFF_WAVE"]
        assert granule.nb_vis2 == len(vis2) == 6
        assert granule.nb_t3 == len(hdus["OI_T3"].data) == 4
        assert granule.em_min == float(str(waves.min())) == 1.5149798e-06
        assert granule.em_max == 1.7604733e-06
        assert granule.t_min == round(float(vis2["MJD"].min()), 8) == 57674.25168036
    assert granule.target_name == "Achernar"
    assert granule.interferometer_stations == "A0-B2-C1-D0"
    assert granule.nb_channels == 6 and granule.nb_vis == 0
    assert granule.facility_name == "VLTI"
    assert granule.instrument_name == "PIONIER_Pnat(1.5149798/1.7604733)"
    assert granule.dataproduct_category == "SCIENCE"
    assert granule.calib_level == 2  # PRO CATG TARGET_OIDATA_CALIBRATED
    assert granule.progid == "098.D-0522(B)"
    assert granule.obs_id == "PIONI.2016-10-13T06:03:48.523"
    assert granule.procsoft == "pndrs_v3.53"
    assert (granule.s_ra, granule.s_dec) == (24.427067, -57.23689)
    assert granule.t_exptime == 128.0
    assert granule.dataproduct_type == "visibility"
    assert reading.header["ARCFILE"] == "PIONI.2016-10-13T06:03:48.523.fits"
    assert reading.header["ESO OBS PROG ID"] == "098.D-0522(B)"


def test_a_gravity_file_gives_the_values_written_in_it():
    reading = read_oifits(GRAVITY, filename=GRAVITY.name)
    assert not reading.rejected and reading.oifits_version == 2
    (granule,) = reading.granules
    assert granule.target_name == "HD_58647"
    assert (granule.nb_vis, granule.nb_vis2, granule.nb_t3) == (6, 6, 4)
    assert granule.nb_channels == 1628
    assert (granule.em_min, granule.em_max) == (1.97e-06, 2.4e-06)
    assert granule.interferometer_stations == "A0-G2-J2-J3"
    assert granule.t_min == granule.t_max == 58875.17770167
    assert granule.t_exptime == 300.0
    assert granule.instrument_name == "GRAVITY_SC"
    assert granule.instrument_mode == "GRAVITY_SC 1.970-2.400um"
    assert granule.dataproduct_category == "CALIB"  # ESO PRO SCIENCE = F
    assert granule.progid == "0104.C-0567(A)"
    assert granule.obs_id == "GRAVI.2020-01-27T03:39:22.003"
    assert granule.procsoft == "GRAVITY pipeline 1.6.0"
    assert granule.datapi is None and granule.obs_creator_name is None  # 'UNKNOWN' in the file
    warnings = [message.message for message in reading.report.warnings]
    assert "OI_ARRAY lacks the column FOV" in warnings  # mandatory in OIFITS 2, kept


def test_granules_are_split_by_target_and_night():
    content = make_oifits(targets=("HD 1", "HD 2"), nights=3, records=4, vis=True)
    reading = read_oifits(content, filename="two-targets.fits")
    assert not reading.rejected, reading.reject_reason
    assert [(g.target_name, math.floor(g.t_min)) for g in reading.granules] == [
        ("HD 1", 58000), ("HD 2", 58000), ("HD 1", 58001), ("HD 2", 58001),
        ("HD 1", 58002), ("HD 2", 58002),
    ]  # fmt: skip
    for granule in reading.granules:
        assert (granule.nb_vis, granule.nb_vis2, granule.nb_t3) == (24, 24, 16)
        assert granule.t_exptime == 60.0
        assert granule.calib_level == 2


def test_a_night_runs_from_noon_to_noon_at_the_observatory():
    # The factory starts a target's snapshots `records` minutes after `first_mjd`: these run
    # from 16:00 to 17:29 UT, and Paranal's local noon (about 16:42 UT) falls between.
    crossing_noon = make_oifits(first_mjd=58000 + 14.5 / 24, records=90)
    assert len(read_oifits(crossing_noon, filename="noon.fits").granules) == 2
    # 23:00 to 00:59 UT is one night at Paranal, across the date change.
    crossing_midnight = make_oifits(first_mjd=58000 + 21 / 24, records=120)
    (granule,) = read_oifits(crossing_midnight, filename="midnight.fits").granules
    assert math.floor(granule.t_min) == 58000 and math.floor(granule.t_max) == 58001


def test_each_instrument_mode_is_a_granule():
    first = make_oifits(insname="GRAVITY_SC", wavelengths=(1.97e-6, 2.4e-6))
    second = make_oifits(insname="GRAVITY_SC", wavelengths=(1.99e-6, 2.45e-6))
    modes = {
        read_oifits(content, filename="g.fits").granules[0].instrument_mode
        for content in (first, second)
    }
    assert modes == {"GRAVITY_SC 1.970-2.400um", "GRAVITY_SC 1.990-2.450um"}


def test_category_comes_from_the_target_and_the_header():
    calibrator = read_oifits(make_oifits(science=False), filename="cal.fits").granules[0]
    assert calibrator.dataproduct_category == "CALIB"
    v1 = read_oifits(make_oifits(science=True, version=1), filename="sci.fits").granules[0]
    assert v1.dataproduct_category == "SCIENCE"


def test_values_carry_no_binary_noise():
    content = make_oifits(int_time=0.1 + 0.315, wavelengths=(1.5e-6, 1.8e-6), nwave=7)
    granule = read_oifits(content, filename="noise.fits").granules[0]
    assert granule.t_exptime == 0.415
    assert repr(granule.em_min) == "1.5e-06" and repr(granule.em_max) == "1.8e-06"
    assert granule.em_res_power == 33.0  # median 1.65 um over 0.05 um channels


def test_a_v1_file_without_oi_array_is_kept_with_a_warning():
    reading = read_oifits(make_oifits(version=1, without=("OI_ARRAY",)), filename="v1.fits")
    assert not reading.rejected
    assert reading.granules[0].interferometer_stations is None
    assert any("no OI_ARRAY table defines" in m.message for m in reading.report.warnings)


def _fits_without_oi_tables() -> bytes:
    buffer = io.BytesIO()
    image = fits.ImageHDU(np.zeros((4, 4)), name="IMAGE")
    fits.HDUList([fits.PrimaryHDU(), image]).writeto(buffer)
    return buffer.getvalue()


def _edited(change, **options) -> bytes:
    """A factory file changed by ``change(hdus)`` with astropy."""
    with fits.open(io.BytesIO(make_oifits(**options))) as hdus:
        change(hdus)
        buffer = io.BytesIO()
        hdus.writeto(buffer)
    return buffer.getvalue()


def _rename_vis2_insname(hdus):
    hdus["OI_VIS2"].header["INSNAME"] = "AMBER"


def _empty_data_tables(hdus):
    for name in ("OI_VIS2", "OI_T3"):
        index = hdus.index_of(name)
        hdus[index] = fits.BinTableHDU(data=hdus[index].data[:0], header=hdus[index].header)


def _unknown_station(hdus):
    hdus["OI_VIS2"].data["STA_INDEX"][2] = (1, 9)


def _wavelength_unit_in_microns(hdus):
    hdus["OI_WAVELENGTH"].header["TUNIT1"] = "micron"


BAD_INPUTS = {
    "not FITS": (lambda: b"PK\x03\x04 a zip archive", "is not a FITS file"),
    "FITS without OI tables": (_fits_without_oi_tables, "not an OIFITS file"),
    "missing OI_WAVELENGTH": (
        lambda: make_oifits(without=("OI_WAVELENGTH",)),
        "OI_WAVELENGTH table missing",
    ),
    "missing OI_TARGET": (lambda: make_oifits(without=("OI_TARGET",)), "OI_TARGET table missing"),
    "missing OI_ARRAY in v2": (
        lambda: make_oifits(without=("OI_ARRAY",)),
        "OI_ARRAY table missing (mandatory in OIFITS 2)",
    ),
    "no data table": (
        lambda: make_oifits(without=("OI_VIS2", "OI_T3")),
        "no data table",
    ),
    "broken TARGET_ID": (
        lambda: make_oifits(bad_target_id=7),
        "OI_VIS2 row 1 refers to TARGET_ID 7, which OI_TARGET does not define",
    ),
    "unknown INSNAME": (
        lambda: _edited(_rename_vis2_insname),
        "OI_VIS2 refers to INSNAME 'AMBER', which no OI_WAVELENGTH table defines",
    ),
    "NaN-only data": (lambda: make_oifits(nan_data=True), "holds no usable measurement"),
    "empty data tables": (lambda: _edited(_empty_data_tables), "the data tables hold no row"),
    "unknown station in v2": (
        lambda: _edited(_unknown_station),
        "OI_VIS2 row 3 refers to STA_INDEX 9, which OI_ARRAY 'VLTI' does not define",
    ),
    "wavelengths in microns": (
        lambda: make_oifits(wavelengths=(1.6, 1.8)),
        "are not wavelengths in metres",
    ),
    "Julian dates": (
        lambda: make_oifits(first_mjd=2458000.5),
        "is not a modified Julian date (a Julian date, not MJD?)",
    ),
    "truncated": (lambda: make_oifits(records=20)[:-3000], "the file is truncated"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_a_bad_input_is_rejected_with_its_reason(case):
    make, reason = BAD_INPUTS[case]
    reading = read_oifits(make(), filename="bad.fits")
    assert reading.rejected
    assert reason in reading.reject_reason
    assert reading.granules == []
    report = reading.report.as_json()
    assert any(m["severity"] == "error" and reason in m["message"] for m in report["messages"])


def test_lesser_problems_are_kept_as_warnings():
    station = read_oifits(_edited(_unknown_station, version=1), filename="v1.fits")
    unit = read_oifits(_edited(_wavelength_unit_in_microns), filename="unit.fits")
    assert not station.rejected and not unit.rejected
    assert [m.message for m in station.report.warnings] == [
        "OI_VIS2 row 3 refers to STA_INDEX 9, which OI_ARRAY 'VLTI' does not define"
    ]
    assert [m.message for m in unit.report.warnings] == [
        "OI_WAVELENGTH: EFF_WAVE is in 'micron', the standard says 'm'"
    ]


def test_an_integration_longer_than_a_night_is_questioned():
    reading = read_oifits(make_oifits(int_time=100_000.0), filename="long.fits")
    assert not reading.rejected
    assert "OI_VIS2: INT_TIME up to 100000 s is longer than a night" in (
        reading.report.warnings[0].message
    )


def test_the_report_is_stored_as_json():
    reading = read_oifits(make_oifits(bad_target_id=3), filename="bad.fits")
    report = reading.report.as_json()
    assert set(report) == {"oifits_version", "messages"} and report["oifits_version"] == 2
    assert {"severity", "hdu", "message"} == set(report["messages"][0])
    assert report["messages"][0]["hdu"] == "OI_VIS2"


def test_granule_rows_give_the_points_of_one_granule(tmp_path):
    path = tmp_path / "two.fits"
    make_oifits(path, targets=("HD 1", "HD 2"), records=3, nwave=5, vis=True)
    granules = read_oifits(path, filename=path.name).granules
    first = granules[0]
    data = granule_rows(path, first)
    assert data.wavelengths.shape == (5,)
    assert data.vis2.shape == data.vis2_frequency.shape == data.vis2_err.shape == (6 * 3 * 5,)
    assert data.t3phi.shape == data.t3_frequency.shape == (4 * 3 * 5,)
    assert data.u.shape == data.v.shape == (2 * 6 * 3,)  # VIS2 and VIS baselines
    with fits.open(path) as hdus:
        vis2 = hdus["OI_VIS2"].data
        waves = hdus["OI_WAVELENGTH"].data["EFF_WAVE"].astype(float)
        expected = math.hypot(vis2["UCOORD"][0], vis2["VCOORD"][0]) / waves[0]
    assert data.vis2_frequency[0] == pytest.approx(expected)
    assert data.vis2[0] == pytest.approx(vis2["VIS2DATA"][0][0])
    other = granule_rows(path, SimpleNamespace(**{**first.as_row(), "target_name": "HD 2"}))
    assert other.vis2.shape == (0,)  # the second target is not in the first one's time range
