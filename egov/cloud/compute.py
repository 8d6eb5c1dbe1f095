"""`python -m egov.cloud.compute --config-file nova.conf`: nova-compute with egov's LabDriver.

nova loads `compute_driver` only from inside `nova.virt`, so this starter imports nova-compute's
own entry point first (it sets up nova's threading), then makes `egov.cloud.novadriver` visible
as `nova.virt.egov_lab` (`compute_driver = egov_lab.LabDriver`) and runs it.
"""

import sys


def main() -> None:
    from nova.cmd import compute  # first: nova's own process setup

    from egov.cloud import novadriver

    sys.modules["nova.virt.egov_lab"] = novadriver
    sys.argv[0] = "nova-compute"
    sys.exit(compute.main())


if __name__ == "__main__":
    main()
