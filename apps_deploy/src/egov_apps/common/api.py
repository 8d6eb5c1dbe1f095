"""The applications' JSON API (used by the drills, the service hall and e-supervision): same
paths and answers as before the Django port. A POST must say `Content-Type: application/json`
(a browser cannot send that cross-site without CORS, which is the API's CSRF defence), bad
input is one `{"error": ...}` with a 4xx status and nothing written."""

from __future__ import annotations

import functools
import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def respond(status: int, body) -> JsonResponse:
    return JsonResponse(body, status=status, safe=False, json_dumps_params={"ensure_ascii": False, "default": str})


def endpoint(*methods: str):
    """A JSON endpoint: allowed methods, body parsing, errors as JSON."""

    def deco(fn):
        @csrf_exempt
        @functools.wraps(fn)
        def view(request, *args, **kwargs):
            request.is_api = True
            if request.method not in methods:
                return respond(405, {"error": f"{request.method} not allowed here (use {', '.join(methods)})"})
            try:
                if request.method == "POST":
                    request.json = _body(request)
                result = fn(request, *args, **kwargs)
            except ApiError as e:
                return respond(e.status, {"error": e.message})
            status, body = result if isinstance(result, tuple) else (200, result)
            return respond(status, body)

        return view

    return deco


def _body(request) -> dict:
    if request.content_type != "application/json":
        raise ApiError(415, "body must be JSON with Content-Type: application/json")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "body must be JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "body must be a JSON object")
    return data


def field(request, name: str, required: bool = True):
    v = request.json.get(name)
    if required and (v is None or v == ""):
        raise ApiError(400, f"missing field: {name}")
    return v


def query_int(request, name: str, default: int, maximum: int) -> int:
    try:
        return max(1, min(int(request.GET.get(name, default)), maximum))
    except ValueError:
        raise ApiError(400, f"{name} must be a number") from None
