"""`migrator web` without a browser: the five steps through Starlette's test client, and every
request that must be refused (no token, another Host, a cross-site form, an upload bomb, a path
outside the conversion's own folder)."""

from __future__ import annotations

import io
import re
import time
import warnings
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # Starlette 1.x warns that it prefers httpx2 (same API)
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from migrator.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
GARAGE = ROOT / "samples" / "garage" / "journal.csv"
TOKEN = "test-token-0123456789"


@pytest.fixture()
def client(tmp_path: Path) -> TestClient:
    app = create_app(TOKEN, workspace=tmp_path / "workspace", hosts={"testserver"})
    (tmp_path / "workspace").mkdir()
    with TestClient(app) as c:
        c.get(f"/?token={TOKEN}")  # the first visit sets the token cookie, as the printed address does
        yield c


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert found
    return found.group(1)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _finished(client: TestClient, job: str) -> dict[str, str]:
    for _ in range(240):
        state = client.get(f"/job/{job}/status").json()
        if state["state"] != "running":
            return state
        time.sleep(0.25)
    raise AssertionError("the conversion did not finish in a minute")


def test_choose_by_path_see_what_was_found_convert_and_download(client: TestClient) -> None:
    csrf = _csrf(client)
    found = client.post("/choose", data={"csrf": csrf, "path": str(GARAGE)})
    assert found.status_code == 200
    job = str(found.url).rsplit("/job/", 1)[1]
    page = _text(found.text)
    assert "Program csv" in page and "Accounts 19" in page and "Entries 23" in page and "VAT codes 5" in page
    assert "2023-01-01 – 2023-12-31; 2024-01-01 – 2024-12-31" in page
    assert "1 remark on these books" in page
    started = client.post(f"/job/{job}/convert", data={"csrf": csrf, "target": "csv", "mapping": ""})
    assert started.status_code == 200
    assert _finished(client, job)["state"] == "done"
    result = client.get(f"/job/{job}/result")
    assert 'data-verdict="verified"' in result.text
    assert "Verified: the new files hold the same books." in _text(result.text)
    download = client.get(f"/job/{job}/download")
    assert download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        names = set(zf.namelist())
        assert names == {"output/csv.csv", "report.html", "README.txt"}
        assert zf.read("README.txt").decode("utf-8").startswith("Postings CSV\n")  # the csv guide (migrator.guides)
        assert zf.read("output/csv.csv") == (client.app.state.session.jobs[job].output).read_bytes()
        assert "Garage" in zf.read("report.html").decode() or "journal.csv" in zf.read("report.html").decode()


def test_the_page_speaks_the_browser_language_and_the_one_picked(client: TestClient) -> None:
    german = client.get("/", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in german.text and "Wo sind die Daten des alten Programms?" in german.text
    french = client.get("/?lang=fr", headers={"Accept-Language": "de-CH"})
    assert "Où sont les données de l'ancien programme ?" in french.text
    assert "Où sont les données" in client.get("/", headers={"Accept-Language": "de-CH"}).text  # kept in a cookie


def test_a_zip_upload_is_unpacked_and_read(client: TestClient, tmp_path: Path) -> None:
    archive = tmp_path / "books.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(GARAGE, "garage/journal.csv")
    sent = client.post("/upload", data={"csrf": _csrf(client)},
                       files={"file": ("books.zip", archive.read_bytes(), "application/zip")})  # fmt: skip
    assert sent.status_code == 200
    assert "Entries 23" in _text(sent.text)


def test_a_request_without_the_token_is_refused(tmp_path: Path) -> None:
    app = create_app(TOKEN, workspace=tmp_path, hosts={"testserver"})
    with TestClient(app) as c:
        assert c.get("/").status_code == 403
        assert c.get("/?token=wrong").status_code == 403
        assert c.get("/static/style.css").status_code == 403
        assert c.get(f"/?token={TOKEN}").status_code == 200


def test_another_host_is_refused_even_with_the_token(client: TestClient) -> None:
    # DNS rebinding: a page at evil.example resolving to 127.0.0.1 sends its own Host.
    refused = client.get(f"/?token={TOKEN}", headers={"Host": "evil.example:8000"})
    assert refused.status_code == 403
    assert client.get("/", headers={"Host": "testserver"}).status_code == 200


def test_a_cross_site_form_post_is_refused(client: TestClient) -> None:
    csrf = _csrf(client)
    # Another site's form: its Origin, and (in a real browser) no SameSite=Strict cookie or CSRF field.
    assert client.post("/choose", data={"csrf": csrf, "path": str(GARAGE)},
                       headers={"Origin": "http://evil.example"}).status_code == 403  # fmt: skip
    assert client.post("/choose", data={"path": str(GARAGE)}).status_code == 403
    assert client.post("/choose", data={"csrf": "forged", "path": str(GARAGE)}).status_code == 403
    assert client.post("/done", data={}).status_code == 403
    assert not client.app.state.session.jobs and not client.app.state.session.done.is_set()


def test_an_upload_bomb_is_refused(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from migrator import limits

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("journal.csv", b"0" * (80 << 20))  # 80 MB of zeros pack to some 80 KB
    refused = client.post("/upload", data={"csrf": _csrf(client)},
                          files={"file": ("bomb.zip", bomb.read_bytes(), "application/zip")})  # fmt: skip
    assert refused.status_code == 413
    assert "The archive was refused" in refused.text and "refusing a zip bomb" in refused.text
    assert not client.app.state.session.jobs
    assert not any((tmp_path / "workspace").iterdir())  # nothing unpacked is left
    monkeypatch.setattr("migrator.web.app.UPLOAD_MB", 1)
    too_big = client.post("/upload", data={"csrf": _csrf(client)},
                          files={"file": ("big.csv", b"x" * (2 << 20), "text/csv")})  # fmt: skip
    assert too_big.status_code == 413
    assert limits.current().max_input_bytes  # the CLI's bounds stay as they were


def test_no_path_outside_the_conversion_folder_is_served(client: TestClient, tmp_path: Path) -> None:
    csrf = _csrf(client)
    found = client.post("/choose", data={"csrf": csrf, "path": str(GARAGE)})
    job = str(found.url).rsplit("/job/", 1)[1]
    client.post(f"/job/{job}/convert", data={"csrf": csrf, "target": "csv", "mapping": ""})
    _finished(client, job)
    assert client.get(f"/job/{job}/files/report.html").status_code == 200
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    for attempt in ("../../secret.txt", "..%2F..%2Fsecret.txt", str(secret), "%2Fetc%2Fpasswd", "../upload/x"):
        response = client.get(f"/job/{job}/files/{attempt}")
        assert response.status_code == 404, attempt
        assert "not yours" not in response.text
    assert client.get(f"/static/../../../{GARAGE.relative_to(ROOT)}").status_code == 404
    assert client.get("/job/nosuchjob/files/report.html").status_code == 404


def test_done_stops_the_server(client: TestClient) -> None:
    page = client.post("/done", data={"csrf": _csrf(client)})
    assert page.status_code == 200 and "migrator has stopped" in page.text
    assert client.app.state.session.done.is_set()


def test_responses_forbid_framing_by_others_and_leaking_the_token(client: TestClient) -> None:
    headers = client.get("/").headers
    assert "frame-ancestors 'self'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "same-origin"
    cookie = client.get(f"/?token={TOKEN}").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_bexio_books_offer_the_push_command_for_the_same_source(client: TestClient) -> None:
    import importlib.util

    csrf = _csrf(client)
    found = client.post("/choose", data={"csrf": csrf, "path": str(GARAGE)})
    job = str(found.url).rsplit("/job/", 1)[1]
    client.post(f"/job/{job}/convert", data={"csrf": csrf, "target": "bexio", "mapping": ""})
    assert _finished(client, job)["state"] == "done"
    page = _text(client.get(f"/job/{job}/result").text)
    assert "Send to bexio" in page
    if importlib.util.find_spec("migrator.push") is not None:
        assert f"migrator push {GARAGE} --to bexio --token-file TOKEN-FILE" in page
    else:
        assert "not available in this version" in page


def test_refusals_and_remarks_speak_the_page_language(client: TestClient, tmp_path: Path) -> None:
    csrf = _csrf(client)
    missing = client.post("/choose?lang=de", data={"csrf": csrf, "path": str(tmp_path / "nirgends")})
    assert (
        missing.status_code == 404 and "keine solche Datei und kein solcher Ordner auf diesem Computer" in missing.text
    )
    found = client.post("/choose?lang=fr", data={"csrf": csrf, "path": str(GARAGE)})
    page = _text(found.text)
    assert "1 remarque sur cette comptabilité" in page and "avertissement :" in page
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    refused = client.post(
        "/upload?lang=fr", data={"csrf": csrf}, files={"file": ("bad.csv", b"\x00\x01\x02", "text/csv")}
    )
    assert refused.status_code == 200 and "Cette comptabilité ne peut pas être lue" in refused.text


def test_the_page_in_italian_where_translated(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": "it-CH,it;q=0.9"})
    assert '<html lang="it">' in page.text and "Dove sono i dati del vecchio programma?" in page.text


def test_an_uploaded_file_name_never_leaves_the_upload_folder(client: TestClient, tmp_path: Path) -> None:
    csrf = _csrf(client)
    for name in ("..", "../../journal.csv", "C:\\Users\\me\\journal.csv"):
        sent = client.post("/upload", data={"csrf": csrf}, files={"file": (name, GARAGE.read_bytes(), "text/csv")})
        assert sent.status_code == 200, name
    kept = sorted(p.relative_to(tmp_path / "workspace").parts[1:] for p in (tmp_path / "workspace").rglob("*")
                  if p.is_file())  # fmt: skip
    assert kept == [("upload", "journal.csv"), ("upload", "journal.csv"), ("upload", "upload")]
    assert not (tmp_path / "journal.csv").exists()
