"""The wall screen's map: `GET /api/map` — the stations with coordinates
(`location` in the station YAML), the optional GeoJSON layers of the config
(`service.http.map_layers`, default `map/` beside the stations file) and the
tile server, if the deployment has one (`service.http.map_tiles`; none by
default: the page works on a closed network).

A layer file is a GeoJSON FeatureCollection; its own `name` / `name_en`
members name it on the page (else the file name). Features may carry `name`,
`name_en` and `kind` (`boundary`, `river`, `route`, `shelter`: how it is
drawn). A file that cannot be read (not valid JSON, not UTF-8, a dangling
symlink, no permission) is left out and logged, not fatal.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from floodwatch.web.routes.context import Context

log = logging.getLogger(__name__)
MAX_LAYER = 5_000_000  # bytes: a layer larger than this is left out


def layers_dir(ctx: Context) -> Path | None:
    if ctx.settings.map_layers is not None:
        return Path(ctx.settings.map_layers)
    origins = ctx.service.loaded.origins.get("stations") or []
    return origins[0][0].file.parent / "map" if origins else None


def read_layers(folder: Path | None) -> list[dict[str, Any]]:
    if folder is None or not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.geojson")):
        try:
            if path.stat().st_size > MAX_LAYER:
                log.warning("map layer %s left out: larger than %d bytes", path, MAX_LAYER)
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("map layer %s left out: %s", path, exc)
            continue
        if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
            log.warning("map layer %s left out: not a GeoJSON FeatureCollection", path)
            continue
        out.append(
            {
                "id": path.stem,
                "name": str(data.get("name") or path.stem),
                "name_en": str(data.get("name_en") or data.get("name") or path.stem),
                "data": data,
            }
        )
    return out


def router(ctx: Context) -> APIRouter:
    api = APIRouter()

    @api.get("/api/map")
    async def map_() -> dict[str, Any]:
        stations = [
            {
                "id": sid,
                "name": info.model.name,
                "name_en": info.model.name_en or sid,
                "type": info.model.type,
                "lon": info.model.location.lon,
                "lat": info.model.location.lat,
            }
            for sid, info in ctx.service.compiled.stations.items()
            if info.model.location is not None
        ]
        return {
            "tiles": ctx.settings.map_tiles,
            "attribution": ctx.settings.map_attribution,
            "stations": stations,
            "layers": read_layers(layers_dir(ctx)),
        }

    return api
