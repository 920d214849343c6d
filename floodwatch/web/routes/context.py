"""What every route module is given: the running service and the command
center's own parts, and the helpers the routes share (who is asking, the
strict request body, the JSON error)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from floodwatch.config.models import HttpSettings
from floodwatch.store.ledger import Ledger
from floodwatch.web.auth import Principal
from floodwatch.web.board import Recent
from floodwatch.web.stream import Hub

if TYPE_CHECKING:
    from floodwatch.service.run import Service
    from floodwatch.store import Store


@dataclass(frozen=True)
class Context:
    settings: HttpSettings
    service: Service
    store: Store
    ledger: Ledger
    hub: Hub
    recent: Recent


async def principal(request: Request) -> Principal:
    """Who is asking (set by `authorize`, which runs first for every route)."""
    who = getattr(request.state, "principal", None)
    if who is None:
        raise HTTPException(401, "log in first (Authorization: Bearer <token>)")
    return who  # type: ignore[no-any-return]


Who = Annotated[Principal, Depends(principal)]


class Body(BaseModel):
    """A request body: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


def error_response(status: int, message: str) -> JSONResponse:
    """Every error of the app: JSON `{"error": message}`, never a traceback."""
    return JSONResponse({"error": message}, status_code=status)


def known_parameters(request: Request, known: tuple[str, ...]) -> None:
    """A misspelt filter (`?severty=red`) is refused, not ignored."""
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        raise HTTPException(
            422, f"unknown query parameter {unknown[0]!r}; valid: {', '.join(known)}"
        )
