"""Quick-look PNGs: drawn from the granule's points, cached on disk, refused like the file."""

import hashlib
import io
from datetime import UTC, datetime

import httpx
import pytest
from PIL import Image

from oidb.services.embargo import MJD_EPOCH
from oidb.storage.files import file_path

from .conftest import SHARED_OIFITS
from .oifits_factory import make_oifits

KINDS = ("vis2", "t3phi", "uv")


def _png(content: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(content))
    assert picture.format == "PNG"
    return picture


@pytest.fixture(scope="module")
def granule(oidb_collection, oidb_ingest) -> int:
    result = oidb_ingest(oidb_collection(), "preview.fits", make_oifits(seed=21, vis=True))
    return result.granule_ids[0]


@pytest.mark.parametrize("kind", KINDS)
def test_each_quick_look_is_an_800_by_600_png(oidb_server, granule, kind):
    response = httpx.get(f"{oidb_server.service_url}/previews/{granule}/{kind}.png", timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert _png(response.content).size == (800, 600)


def test_a_cached_quick_look_is_served_without_the_file(
    oidb_server, oidb_settings, oidb_collection, oidb_ingest
):
    content = make_oifits(targets=("HD 31",), seed=22)
    (granule,) = oidb_ingest(oidb_collection(), "cached.fits", content).granule_ids
    url = f"{oidb_server.service_url}/previews/{granule}/vis2.png"
    first = httpx.get(url, timeout=60)
    assert first.status_code == 200
    md5 = hashlib.md5(content).hexdigest()
    # One miss draws every quick-look of the granule.
    assert {
        path.name.rsplit("-", 1)[1] for path in oidb_settings.previews_dir.rglob(f"{md5}-*")
    } == {f"{kind}.png" for kind in KINDS}
    # Without its file the previews can only come from the cache.
    file_path(oidb_settings, md5).unlink()
    second = httpx.get(url, timeout=60)
    assert second.status_code == 200 and second.content == first.content
    uv = httpx.get(url.replace("vis2.png", "uv.png"), timeout=60)
    assert uv.status_code == 200 and _png(uv.content).size == (800, 600)


def test_quick_looks_follow_the_granule_rights(
    oidb_server, oidb_collection, oidb_ingest, oidb_accounts
):
    group_name, group_id = oidb_accounts.group()
    recent = (datetime.now(UTC) - MJD_EPOCH).days - 3.0
    content = make_oifits(targets=("HD 32",), first_mjd=recent, seed=23)
    collection = oidb_collection("suv", groups=(group_id,))
    (granule,) = oidb_ingest(collection, "embargoed.fits", content).granule_ids
    url = f"{oidb_server.service_url}/previews/{granule}/uv.png"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=oidb_accounts.new().headers).status_code == 403
    member = oidb_accounts.new(groups=(group_name,))
    assert _png(httpx.get(url, headers=member.headers, timeout=60).content).size == (800, 600)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/previews/{granule}/flux.png", 404), ("/previews/999999999/vis2.png", 404)],
)
def test_an_unknown_quick_look_is_a_404(oidb_server, granule, path, status):
    response = httpx.get(oidb_server.service_url + path.format(granule=granule))
    assert response.status_code == status and response.json()["detail"]


def _real_files() -> list:
    chosen = ("GRAVI.2016-06-23T03:10:17.458_singlesciviscalibrated.fits", "AMBER_070409.fits",
              "2012-03-24_ALL_oiDataCalib.fits")  # fmt: skip
    return [SHARED_OIFITS / name for name in chosen if (SHARED_OIFITS / name).is_file()]


def test_real_files_draw_every_quick_look(oidb_server, oidb_collection, oidb_ingest):
    # The shared files when present, a generated one of several nights otherwise.
    sources = [(path.name, path.read_bytes()) for path in _real_files()] or [
        ("nights.fits", make_oifits(targets=("HD 33", "HD 34"), nights=2, seed=24))
    ]
    collection = oidb_collection()
    drawn = 0
    for name, content in sources:
        # The first granule of each file: a few real layouts, not every night of them.
        for granule in oidb_ingest(collection, name, content).granule_ids[:1]:
            for kind in KINDS:
                response = httpx.get(
                    f"{oidb_server.service_url}/previews/{granule}/{kind}.png", timeout=120
                )
                assert response.status_code in (200, 404), response.text
                if response.status_code == 200:
                    assert _png(response.content).size == (800, 600)
                    drawn += 1
    assert drawn >= 3
