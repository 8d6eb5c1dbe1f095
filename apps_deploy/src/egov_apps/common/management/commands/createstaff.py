"""`python -m egov_apps createstaff NAME --department D [--role R]`: a staff account with a TOTP
device. The password is read from $EGOV_STAFF_PASSWORD or the terminal (never from argv); the
TOTP enrolment URI (otpauth://...) is printed once for the staff member's authenticator app."""

import getpass
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from egov_apps.common.models import StaffProfile


class Command(BaseCommand):
    help = "Create a staff account (password + TOTP) in this application's database."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--department", required=True)
        parser.add_argument("--role", choices=[r for r, _ in StaffProfile.ROLES], default="clerk")

    def handle(self, username, department, role, **kw):
        password = os.environ.get("EGOV_STAFF_PASSWORD") or getpass.getpass("password: ")
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"staff user {username!r} exists already")
        try:
            validate_password(password)
        except ValidationError as e:
            raise CommandError("password refused: " + " ".join(e.messages)) from None
        with transaction.atomic():
            user = User.objects.create_user(username, password=password)
            StaffProfile.objects.create(user=user, department=department, role=role)
            device = TOTPDevice.objects.create(user=user, name="default", confirmed=True)
        self.stdout.write(f"{username}: {role} of {department}; enrol this in an authenticator app:")
        self.stdout.write(device.config_url)
