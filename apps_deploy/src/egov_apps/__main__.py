"""`python -m egov_apps COMMAND ...`: Django's management commands for this project
(e.g. `createstaff`, `check --deploy`)."""

import os
import sys

from django.core.management import execute_from_command_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "egov_apps.settings")
execute_from_command_line(["egov_apps", *sys.argv[1:]])
