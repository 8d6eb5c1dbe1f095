"""The district's government-service applications: one Django project, four Django apps.

Every release runs the same project; `EGOV_APP_ID` (written by the app_host role into the
app's environment file) picks which application a process serves: its URLs, and the only
Django app whose tables are migrated into that application's own database. `ENTRYPOINTS`
maps the estate's application ids to the WSGI callable gunicorn runs, `APPS` to the
Django app (package) of each.

Configuration comes from the environment: EGOV_APP_ID, EGOV_APP_VERSION, EGOV_DB_APP (the
app's own database), EGOV_DB_<BASE> (the base databases it reads), EGOV_UPSTREAM_<APP>
(other applications' fronts), EGOV_SITE / EGOV_HOST (shown by /healthz).
"""

APPS = {
    "service-hall": "hall",
    "one-stop-approval": "approval",
    "hotline-12345": "hotline",
    "e-supervision": "supervision",
}
ENTRYPOINTS = {app_id: "egov_apps.wsgi:application" for app_id in APPS}
