"""The district's government-service applications, as small WSGI services (run under gunicorn).

Each application is one module with a WSGI `app`; `ENTRYPOINTS` maps the estate's
application ids to them. Configuration comes from the environment (written by the
app_host role): EGOV_APP_ID, EGOV_APP_VERSION, EGOV_DB_APP (the app's own database),
EGOV_DB_<BASE> (the base databases it reads), EGOV_UPSTREAM_<APP> (other apps' fronts).
"""

ENTRYPOINTS = {
    "hotline-12345": "egov_apps.hotline:app",
    "one-stop-approval": "egov_apps.approval:app",
    "service-hall": "egov_apps.service_hall:app",
    "e-supervision": "egov_apps.supervision:app",
}
