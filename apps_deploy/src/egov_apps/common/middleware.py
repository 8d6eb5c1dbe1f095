"""Forwarded headers believed only from the fronts, security headers on every answer, and a
database outage as a clear 503 (JSON for the API)."""

from __future__ import annotations

import os

from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import render

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
             "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def trusted_proxies() -> frozenset[str]:
    return frozenset(a.strip() for a in os.environ.get("EGOV_TRUSTED_PROXIES", "").split(",") if a.strip())


def forwarded_from_fronts(get_response):
    """A request from one of the site's fronts (EGOV_TRUSTED_PROXIES) carries the client's address and
    scheme in X-Forwarded-For/-Proto, which the front sets itself; from anyone else those headers are
    dropped, so nobody can claim HTTPS or another address (lockout, audit log) by sending them."""
    trusted = trusted_proxies()

    def middleware(request):
        meta = request.META
        if meta.get("REMOTE_ADDR") in trusted:
            hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
            if hops:
                meta["REMOTE_ADDR"] = hops[-1]  # the front overwrites the header with the peer it saw
        else:
            for h in FORWARDED:
                meta.pop(h, None)
        return get_response(request)

    return middleware


def security_headers(get_response):
    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.path.startswith("/staff/") or getattr(request, "user", None) and request.user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response

    return middleware


def wants_json(request) -> bool:
    return request.headers.get("Accept", "").startswith("application/json") or \
        request.content_type == "application/json" or getattr(request, "is_api", False)


def database_errors(get_response):
    class Middleware:
        def __call__(self, request):
            return get_response(request)

        def process_exception(self, request, exc):
            if not isinstance(exc, DatabaseError):
                return None
            msg = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            if wants_json(request):
                return JsonResponse({"error": f"database: {msg}"}, status=503)
            return render(request, "common/error.html",
                          {"title": "服务暂不可用", "message": "数据库暂时无法访问，请稍后再试。"}, status=503)

    return Middleware()
