"""Send to TOPCAT / Aladin: pages hand their VOTable to SAMP clients through the Web Profile.

A real SAMP hub (pyvo's, astropy's successor) runs with the Web Profile on a free port, never
the standard 21012 that a person's own hub may hold; the service learns where it is from its
``samp_hub_url`` setting. The hub's consent dialog answers yes, as the user would, and a SAMP
client standing for TOPCAT subscribes to ``table.load.votable``.
"""

import io
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from astropy.io.votable import parse_single_table
from playwright.sync_api import Page, expect
from pyvo.samp import SAMPHubServer, SAMPIntegratedClient, WebProfileDialog

from jmmc_devtools.pgcluster import free_port

from .conftest import running_service

RECEIVER = "TOPCAT (test)"


class ConsentingDialog(WebProfileDialog):
    """The hub's "accept this web page?" question, answered yes; who asked is recorded."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def show_dialog(self, samp_name, details, client, origin) -> None:
        self.asked.append(samp_name)
        self.consent()


@contextmanager
def samp_hub(web_port: int, folder: Path) -> Iterator[tuple[SAMPHubServer, ConsentingDialog]]:
    dialog = ConsentingDialog()
    hub = SAMPHubServer(
        web_profile=True,
        web_port=web_port,
        web_profile_dialog=dialog,
        lockfile=str(folder / "samp-hub"),
    )
    hub.start(wait=False)
    stop = threading.Event()

    def answer_dialogs() -> None:  # what a GUI hub's event loop does
        while not stop.wait(0.02):
            dialog.handle_queue()

    answering = threading.Thread(target=answer_dialogs, daemon=True)
    answering.start()
    try:
        yield hub, dialog
    finally:
        stop.set()
        answering.join()
        hub.stop()


@contextmanager
def table_receiver(hub: SAMPHubServer) -> Iterator[queue.Queue]:
    """A SAMP client loading tables, as TOPCAT: the ``table.load.votable`` parameters it gets."""
    client = SAMPIntegratedClient(name=RECEIVER)
    client.connect(hub=hub)
    received: queue.Queue = queue.Queue()
    client.bind_receive_notification(
        "table.load.votable", lambda key, sender, mtype, params, extra: received.put(params)
    )
    try:
        yield received
    finally:
        client.disconnect()


@pytest.fixture(scope="module")
def hub_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def samp_service(golden_database, hub_port) -> Iterator[str]:
    """ObsPortal whose pages talk to the test hub's Web Profile."""
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("OBSPORTAL_SAMP_HUB_URL", f"http://127.0.0.1:{hub_port}/")
        with running_service(golden_database) as server:
            yield server.url


def _votable_rows(url: str):
    response = httpx.get(url)
    assert response.status_code == 200
    return parse_single_table(io.BytesIO(response.content)).to_table()


def test_send_search_results_without_then_with_a_hub(samp_service, hub_port, page: Page, tmp_path):
    page.goto(f"{samp_service}/obsportal/?q=IRS9A&instrument=GRAVITY")
    expect(page.locator("#summary")).to_have_text("31 exposures, page 1 of 2")
    status = page.locator("#samp-send-status")

    page.click("#samp-send")
    expect(status).to_contain_text(f"No SAMP hub answers at http://127.0.0.1:{hub_port}/")
    expect(status).to_contain_text("start TOPCAT or Aladin")

    with samp_hub(hub_port, tmp_path) as (hub, dialog), table_receiver(hub) as received:
        page.click("#samp-send")
        expect(status).to_have_text(f"Sent to {RECEIVER}.")
        params = received.get(timeout=15)
    assert dialog.asked == ["ObsPortal — search"]
    assert params["name"] == "ObsPortal search"
    table = _votable_rows(params["url"])
    assert len(table) == 31  # every row of the search, not only the page shown
    assert set(table["instrument_name"]) == {"GRAVITY"}
    assert set(table["target_name"]) == {"IRS9A"}


def test_send_an_exposure_twice_with_one_consent(samp_service, hub_port, page: Page, tmp_path):
    page.goto(f"{samp_service}/obsportal/?q=IRS9A&instrument=GRAVITY")
    page.locator("a.exposure").first.click()
    exp_id = page.locator("#exp-id").inner_text()
    status = page.locator("#samp-send-status")
    with samp_hub(hub_port, tmp_path) as (hub, dialog), table_receiver(hub) as received:
        page.click("#samp-send")
        expect(status).to_have_text(f"Sent to {RECEIVER}.")
        first = received.get(timeout=15)
        page.click("#samp-send")
        second = received.get(timeout=15)
    assert len(dialog.asked) == 1  # the page stays registered: the user accepts once
    assert first == second and first["name"] == exp_id
    table = _votable_rows(first["url"])
    assert list(table["exp_id"]) == [exp_id]


@pytest.mark.filterwarnings("ignore:No client was able to receive this message")
def test_a_hub_with_no_table_client(samp_service, hub_port, page: Page, tmp_path):
    page.goto(f"{samp_service}/obsportal/?q=IRS9A")
    page.locator("#results tbody a[href*='/target/']").first.click()
    expect(page.locator("#target-name")).to_have_text("IRS9A")
    with samp_hub(hub_port, tmp_path):
        page.click("#samp-send")
        expect(page.locator("#samp-send-status")).to_contain_text(
            "No application connected to the SAMP hub loads tables"
        )
