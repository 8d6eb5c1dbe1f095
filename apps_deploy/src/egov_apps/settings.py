"""Django settings, all from the environment (see the package docstring).

Security choices (等保 2.0 level 3): staff log in with password + TOTP (django-otp), logins are
locked after AXES_FAILURE_LIMIT failures (django-axes), sessions end after SESSION_IDLE_SECONDS
without a request, CSRF on every form, strict security headers (SecurityMiddleware, frame
denial, a same-origin-only Content-Security-Policy: every asset ships in the release).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import psycopg

from egov_apps import APPS

BASE_DIR = Path(__file__).resolve().parent
APP_ID = os.environ.get("EGOV_APP_ID", "")  # empty: all four (the unit tests)
if APP_ID and APP_ID not in APPS:
    raise RuntimeError(f"EGOV_APP_ID={APP_ID!r} is not one of {', '.join(APPS)}")
APP_LABEL = APPS.get(APP_ID, "")


def _database(dsn: str) -> dict:
    """A Django DATABASES entry from a libpq URL (multi-host lists and options kept as they are)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    db = {
        "ENGINE": "egov_apps.common.pg",  # Django's, trying the last read-write host first
        "NAME": info.pop("dbname", ""),
        "USER": info.pop("user", ""),
        "PASSWORD": info.pop("password", ""),
        "HOST": info.pop("host", ""),
        "PORT": str(info.pop("port", "")),
        "OPTIONS": info,  # target_session_attrs, connect_timeout, keepalives...
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }
    return db


def _secret_key() -> str:
    """EGOV_SECRET_KEY, else one derived from the app's database password: the same on every
    host of the application (sessions are shared through its database) and never in the repo."""
    if os.environ.get("EGOV_SECRET_KEY"):
        return os.environ["EGOV_SECRET_KEY"]
    pw = psycopg.conninfo.conninfo_to_dict(os.environ.get("EGOV_DB_APP", "")).get("password") or ""
    if not pw:
        return "egov-unconfigured-" + hashlib.sha256(str(BASE_DIR).encode()).hexdigest()
    return hmac.new(pw.encode(), b"egov django secret key " + APP_ID.encode(), hashlib.sha256).hexdigest()


DATABASES = {"default": _database(os.environ.get("EGOV_DB_APP", "postgresql:///egov"))}
for key, value in sorted(os.environ.items()):
    if key.startswith("EGOV_DB_") and key != "EGOV_DB_APP" and value:
        DATABASES[key[len("EGOV_DB_"):].lower()] = _database(value)
DATABASE_ROUTERS = ["egov_apps.common.routers.OwnDatabaseOnly"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SECRET_KEY = _secret_key()
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("EGOV_ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "egov_apps.common",
    "egov_apps.hall",
    "egov_apps.approval",
    "egov_apps.hotline",
    "egov_apps.supervision",
]
MIDDLEWARE = [
    "egov_apps.common.middleware.forwarded_from_fronts",  # first: everything after sees the real client
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "egov_apps.common.middleware.security_headers",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "egov_apps.common.middleware.database_errors",
]
ROOT_URLCONF = f"egov_apps.{APP_LABEL or 'hall'}.urls"
WSGI_APPLICATION = "egov_apps.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "egov_apps.common.context.site",
    ]},
}]

AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/staff/login/"
LOGIN_REDIRECT_URL = "/staff/"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_LOCKOUT_CALLABLE = "egov_apps.common.views.locked_out"
AXES_VERBOSE = False
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]  # the client's, set from the front's X-Forwarded-For

# behind the site's HTTPS front (EGOV_TRUSTED_PROXIES set): the scheme the front saw, cookies only
# over HTTPS. X-Forwarded-Proto reaches Django only from a front (middleware.forwarded_from_fronts).
BEHIND_TLS_FRONT = bool(os.environ.get("EGOV_TRUSTED_PROXIES", "").strip())
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = BEHIND_TLS_FRONT

SESSION_IDLE_SECONDS = 15 * 60
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True  # the age counts from the last request: an idle timeout
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_FAILURE_VIEW = "egov_apps.common.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
WHITENOISE_USE_FINDERS = True  # served from the apps' static/ folders: no collectstatic step, no CDN
OTP_TOTP_ISSUER = "egov"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}
