"""`floodwatch.web.routes.maps`: the GeoJSON layers read from a folder (what
is left out and why: too large, not JSON, not UTF-8, not a FeatureCollection,
a folder named like a layer, a dangling symlink), where the folder is, and
`GET /api/map` under the test client over `create_app`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from anyio.from_thread import BlockingPortal
from fastapi.testclient import TestClient

from floodwatch.service.run import Service
from floodwatch.web.auth import Role
from floodwatch.web.live import Live
from floodwatch.web.routes import maps
from tests.web.conftest import client_on, session, who_may

Setup = tuple[Service, Live, TestClient]
EMPTY = {"type": "FeatureCollection", "features": []}


def layer(folder: Path, name: str, data: object) -> Path:
    path = folder / f"{name}.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_layers_are_read_in_name_order_with_their_own_names(tmp_path: Path) -> None:
    layer(tmp_path, "b-water", {**EMPTY, "name": "溪流", "name_en": "Streams"})
    layer(tmp_path, "a-bounds", {**EMPTY, "name": "村界"})
    layer(tmp_path, "c-plain", EMPTY)
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")  # not a layer
    found = maps.read_layers(tmp_path)
    assert [(f["id"], f["name"], f["name_en"]) for f in found] == [
        ("a-bounds", "村界", "村界"),
        ("b-water", "溪流", "Streams"),
        ("c-plain", "c-plain", "c-plain"),
    ]
    assert found[0]["data"] == {**EMPTY, "name": "村界"}


def test_a_bad_layer_is_left_out_and_logged_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer(tmp_path, "good", EMPTY)
    (tmp_path / "broken.geojson").write_text('{"type": "Feature', encoding="utf-8")
    (tmp_path / "gbk.geojson").write_bytes('{"name": "村界"}'.encode("gbk"))
    layer(tmp_path, "feature", {"type": "Feature", "geometry": None})
    layer(tmp_path, "list", [EMPTY])
    (tmp_path / "folder.geojson").mkdir()
    (tmp_path / "dangling.geojson").symlink_to(tmp_path / "unmounted" / "rivers.geojson")
    layer(tmp_path, "huge", {**EMPTY, "pad": "x" * 200})
    monkeypatch.setattr(maps, "MAX_LAYER", 150)
    with caplog.at_level(logging.WARNING, logger=maps.log.name):
        found = maps.read_layers(tmp_path)
    assert [f["id"] for f in found] == ["good"]
    said = "\n".join(r.getMessage() for r in caplog.records)
    for name in ("broken", "gbk", "feature", "list", "folder", "dangling", "huge"):
        assert f"{name}.geojson left out" in said, name
    assert "larger than 150 bytes" in said and "not a GeoJSON FeatureCollection" in said


def test_no_folder_no_layers(tmp_path: Path) -> None:
    assert maps.read_layers(None) == []
    assert maps.read_layers(tmp_path / "missing") == []
    (tmp_path / "file").write_text("", encoding="utf-8")
    assert maps.read_layers(tmp_path / "file") == []


def test_the_map_needs_a_session_and_shows_located_stations_and_layers(setup: Setup) -> None:
    service, _, client = setup
    assert who_may(client, service, "GET", "/api/map") == {
        "nobody": 401, "forged": 401, "expired": 401,
        "viewer": 200, "operator": 200, "admin": 200}  # fmt: skip
    found = client.get("/api/map", headers=session(service, Role.VIEWER)).json()
    assert found["tiles"] is None and found["attribution"] == ""
    pond = next(s for s in found["stations"] if s["id"] == "maokeng-pond")
    assert pond == {
        "id": "maokeng-pond",
        "name": pond["name"],
        "name_en": pond["name_en"],
        "type": "pond",
        "lon": 119.7423,
        "lat": 29.8531,
    }
    assert [f["id"] for f in found["layers"]] == ["boundaries", "evacuation", "water"]


def test_a_configured_folder_and_tile_server_are_the_ones_used(
    setup: Setup, loop: BlockingPortal, tmp_path: Path
) -> None:
    service, live, _ = setup
    folder = tmp_path / "layers"
    folder.mkdir()
    layer(folder, "shelters", {**EMPTY, "name": "避灾点"})
    (folder / "rivers.geojson").symlink_to(tmp_path / "gis-share" / "rivers.geojson")  # gone
    assert service.settings.http is not None
    settings = service.settings.http.model_copy(
        update={
            "map_layers": str(folder),
            "map_tiles": "http://tiles.local/{z}/{x}/{y}.png",
            "map_attribution": "county GIS",
        }
    )
    client = client_on(loop, loop.call(live.app, settings))
    found = client.get("/api/map", headers=session(service, Role.VIEWER)).json()
    assert [f["name"] for f in found["layers"]] == ["避灾点"]
    assert found["tiles"] == "http://tiles.local/{z}/{x}/{y}.png"
    assert found["attribution"] == "county GIS"
    gone = settings.model_copy(update={"map_layers": str(tmp_path / "gone")})
    client = client_on(loop, loop.call(live.app, gone))
    assert client.get("/api/map", headers=session(service, Role.VIEWER)).json()["layers"] == []
