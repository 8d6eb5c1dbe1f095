import sys

from egov.lab.devices.server import main

sys.exit(main(sys.argv[1:]))
