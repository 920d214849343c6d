"""`floodwatch.web.routes.page` under the test client over `create_app`: the
page shell and its files are public (the page logs in before it shows
anything), and nothing outside the static folder is served."""

from __future__ import annotations

from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.live import Live
from floodwatch.web.routes import page
from tests.web.conftest import who_may

Setup = tuple[Service, Live, TestClient]
EVERYONE = {"nobody": 200, "forged": 200, "expired": 200,
            "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip


def test_the_shell_and_its_files_are_public(setup: Setup) -> None:
    service, _, client = setup
    assert who_may(client, service, "GET", "/") == EVERYONE
    assert who_may(client, service, "GET", "/static/app.js") == EVERYONE
    shell = client.get("/")
    assert shell.headers["content-type"].startswith("text/html")
    assert shell.text == (page.STATIC / "index.html").read_text(encoding="utf-8")
    script = client.get("/static/app.js")
    assert "javascript" in script.headers["content-type"]
    assert script.content == (page.STATIC / "app.js").read_bytes()


def test_nothing_outside_the_static_folder_is_served(setup: Setup) -> None:
    _, _, client = setup
    for path in (
        "/static/nope.js",
        "/static/%2e%2e/routes/page.py",
        "/static/..%2f..%2fpyproject.toml",
        "/static/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/index.html",
    ):
        got = client.get(path)
        assert got.status_code == 404, (path, got.status_code)
        assert got.json() == {"error": "Not Found"}
    assert client.post("/").status_code == 405  # the shell is read only
