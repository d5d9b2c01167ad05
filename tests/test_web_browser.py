"""`migrator web` end to end in Debian's Chromium (selenium and the system chromedriver; nothing is
downloaded): start the command, choose the Winbiz garage sample, pick bexio, wait for the verdict,
download the zip and check it; in English, French and German. Screenshots of every step are kept
in the test's temporary folder (printed on failure)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DAT = ROOT / "samples" / "winbiz" / "DAT"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
        reason="Debian's chromium and chromium-driver are not installed",
    ),
]

WORDS = {
    "en": {"guide": "# bexio import files written by migrator", "report": "<h1>Reconciliation report</h1>",
           "found": "What was found", "verified": "Verified: the new files hold the same books.", "done": "migrator has stopped"},
    "fr": {"guide": "# Fichiers d'importation bexio écrits par migrator", "report": "<h1>Rapport de rapprochement</h1>",
           "found": "Ce qui a été trouvé", "verified": "Vérifié : les nouveaux fichiers contiennent la même comptabilité.",
           "done": "migrator s'est arrêté"},
    "de": {"guide": "# bexio-Importdateien von migrator", "report": "<h1>Abstimmungsbericht</h1>",
           "found": "Was gefunden wurde", "verified": "Verifiziert: die neuen Dateien enthalten dieselbe Buchhaltung.",
           "done": "migrator wurde beendet"},
}  # fmt: skip


@pytest.fixture()
def server(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    process = subprocess.Popen([sys.executable, "-m", "migrator", "web", "--no-browser"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)  # fmt: skip
    assert process.stdout is not None
    address = process.stdout.readline().strip()
    try:
        yield address, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def expected_verdict(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What `migrator.convert` says of the garage sample to bexio."""
    import migrator

    out = tmp_path_factory.mktemp("bexio") / "bexio"
    result = migrator.convert(DAT, "bexio", out, dossier="garage")
    assert result.verification is not None
    return result.verification.verdict


def _browser(lang: str, downloads: Path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1200,1400",
        f"--lang={lang}",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
    ):
        options.add_argument(argument)  # fmt: skip
    options.add_experimental_option("prefs", {
        "intl.accept_languages": lang, "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
    })  # fmt: skip
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


def _wait(check, seconds: float = 90.0):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()
        except (StaleElementReferenceException, NoSuchElementException):  # the page was being replaced
            found = None
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError("waited in vain")


@pytest.mark.parametrize("lang", ["en", "fr", "de"])
def test_garage_to_bexio_in_the_browser(lang: str, server, expected_verdict: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    address, process = server
    assert address.startswith("http://127.0.0.1:") and "/?token=" in address
    downloads, shots = tmp_path / "downloads", tmp_path / "screenshots"
    downloads.mkdir()
    shots.mkdir()
    driver = _browser(lang, downloads)
    try:
        driver.get(address)
        driver.save_screenshot(str(shots / "1-start.png"))
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
        driver.find_element(By.ID, "path").send_keys(str(DAT))
        driver.find_element(By.CSS_SELECTOR, "form[action='/choose'] button[type=submit]").click()
        # Two companies in the DAT folder: the page asks which one.
        _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "input[name=dossier][value=garage]"))[0].click()
        driver.save_screenshot(str(shots / "2-dossiers.png"))
        driver.find_element(By.CSS_SELECTOR, "form[action$='/dossier'] button[type=submit]").click()
        _wait(lambda: driver.find_elements(By.ID, "t-bexio"))
        body = driver.find_element(By.TAG_NAME, "body").text
        assert WORDS[lang]["found"] in body
        assert "Garage du Lac Sàrl" in body and "winbiz" in body
        driver.save_screenshot(str(shots / "3-found.png"))
        driver.find_element(By.ID, "t-bexio").click()
        driver.find_element(By.CSS_SELECTOR, "form[action$='/convert'] button[type=submit]").click()
        verdict = _wait(lambda: driver.find_elements(By.ID, "verdict"))[0]
        driver.save_screenshot(str(shots / "4-verdict.png"))
        # The page shows the verdict the library gives for the same conversion, in the page's language.
        assert verdict.get_attribute("data-verdict") == expected_verdict
        if expected_verdict == "verified":
            assert WORDS[lang]["verified"] in verdict.text
        driver.find_element(By.ID, "download").click()
        archive = _wait(lambda: [p for p in downloads.glob("*.zip")])[0]
        with zipfile.ZipFile(archive) as zf:
            names = set(zf.namelist())
            assert {"report.html", "README.txt", "output/README.md", "output/manual_entries.json",
                    "output/Kontenplan.xlsx", "output/taxes.csv"} <= names  # fmt: skip
            report = zf.read("report.html").decode("utf-8")
            assert "Garage du Lac Sàrl" in report
            # The report and the import guide speak the page's language.
            assert zf.read("README.txt").decode("utf-8").startswith(WORDS[lang]["guide"])
            assert f'<html lang="{lang}">' in report and WORDS[lang]["report"] in report
        driver.find_element(By.CSS_SELECTOR, "footer form.done button").click()
        _wait(lambda: WORDS[lang]["done"] in driver.find_element(By.TAG_NAME, "body").text)
        driver.save_screenshot(str(shots / "5-done.png"))
    except Exception:
        driver.save_screenshot(str(shots / "failed.png"))
        print(f"screenshots: {shots}\npage: {driver.find_element('tag name', 'body').text}")
        raise
    finally:
        driver.quit()
    assert process.wait(timeout=30) == 0  # "done" stops the server
    print(f"screenshots: {shots}")
