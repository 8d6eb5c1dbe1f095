"""Each application migrates only its own tables into its own database; the base databases
(population, legal entities, ...) are read with SQL and never migrated from here."""

from django.conf import settings

SHARED = {"auth", "contenttypes", "sessions", "messages", "otp_totp", "django_otp", "axes", "common"}
OWN = {"hall", "approval", "hotline", "supervision"}


class OwnDatabaseOnly:
    def allow_migrate(self, db, app_label, **hints):
        if db != "default":
            return False
        if app_label in OWN and settings.APP_LABEL:
            return app_label == settings.APP_LABEL
        return True
