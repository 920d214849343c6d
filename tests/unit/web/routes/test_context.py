"""`floodwatch.web.routes.context`, the helpers every route shares, on their
own: who is asking (a route reached without the access check is refused),
strict bodies, the JSON error, and misspelt query parameters."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import HTTPException, Request
from pydantic import ValidationError

from floodwatch.web.auth import Principal, Role
from floodwatch.web.routes.context import Body, error_response, known_parameters, principal


def request(query: str = "") -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "query_string": query.encode(),
        }
    )


def test_the_principal_is_the_one_the_access_check_set() -> None:
    asked = request()
    asked.state.principal = Principal("duty", Role.OPERATOR)
    assert asyncio.run(principal(asked)) == Principal("duty", Role.OPERATOR)


def test_a_route_reached_without_the_access_check_is_401_not_anonymous() -> None:
    with pytest.raises(HTTPException) as refused:
        asyncio.run(principal(request()))
    assert refused.value.status_code == 401
    asked = request()
    asked.state.principal = None
    with pytest.raises(HTTPException):
        asyncio.run(principal(asked))


def test_a_body_with_an_unknown_field_is_an_error_not_ignored() -> None:
    class Note(Body):
        text: str

    assert Note(text="x").text == "x"
    with pytest.raises(ValidationError, match="extra"):
        Note.model_validate({"text": "x", "role": "admin"})


def test_an_error_is_json_with_its_status() -> None:
    answer = error_response(418, "没有 <b>这个</b>")
    assert answer.status_code == 418
    assert answer.headers["content-type"] == "application/json"
    assert answer.body.decode() == '{"error":"没有 <b>这个</b>"}'


def test_a_misspelt_query_parameter_is_422_naming_the_valid_ones() -> None:
    known_parameters(request("a=1&b=2&a=3"), ("a", "b", "c"))  # known, repeated: fine
    known_parameters(request(), ("a",))
    with pytest.raises(HTTPException) as refused:
        known_parameters(request("zeta=1&beta=2&a=1"), ("a", "b"))
    assert refused.value.status_code == 422
    assert refused.value.detail == "unknown query parameter 'beta'; valid: a, b"
