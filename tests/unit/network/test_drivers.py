"""The device interface's parsing of device output, against output recorded from real sessions."""

from __future__ import annotations

from egov.network import platforms
from egov.network.drivers import first_rejected
from tests.conftest import ROOT

REC = ROOT / "tests" / "data" / "net" / "recorded"


def test_first_rejected_line_of_a_pasted_change():
    out = (REC / "fake2960_rejected.txt").read_text()
    assert first_rejected(out, platforms.get("cisco_ios").error_pattern) == (
        "spanning-tree portfast", "No such command :  spanning-tree portfast")
    assert (
        first_rejected("r1(config)# ip route 1.0.0.0/8 lo\nr1(config)# end\nr1#", platforms.get("frr").error_pattern)
        is None
    )
