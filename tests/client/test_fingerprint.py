"""The machine fingerprint written into every bid manifest (client/fingerprint.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tenderhall.client import fingerprint


def test_the_fingerprint_has_every_field_on_this_machine():
    machine = fingerprint.machine_fingerprint()
    assert set(machine) == {"machine_code", "mac", "disk_serial", "cpu_id", "tool_version"}
    assert all(isinstance(v, str) and v for v in machine.values())
    assert machine["tool_version"].startswith("tenderhall-bid/")
    assert len(machine["machine_code"]) == 32 and machine["machine_code"] != "unknown"
    raw = Path("/etc/machine-id").read_text().strip() if Path("/etc/machine-id").exists() else ""
    assert not raw or raw not in json.dumps(machine)  # the raw machine ID is never published
    assert machine["cpu_id"] != "unknown"
    assert machine == fingerprint.machine_fingerprint()  # stable


def test_the_fingerprint_reads_what_the_kernel_shows(tmp_path):
    net = tmp_path / "net"
    for name, address in (
        ("lo", "00:00:00:00:00:00"),
        ("eth0", "52:54:00:12:34:56"),
        ("wlan0", "aa:bb:cc:dd:ee:ff"),
    ):
        (net / name).mkdir(parents=True)
        (net / name / "address").write_text(address + "\n")
    assert fingerprint.mac_address(net) == "52:54:00:12:34:56"

    block = tmp_path / "block"
    (block / "loop0").mkdir(parents=True)
    (block / "loop0" / "serial").write_text("ignored")
    (block / "sda" / "device").mkdir(parents=True)
    (block / "sda" / "device" / "serial").write_text("S4EWNX0R123456\n")
    assert fingerprint.disk_serial(block, tmp_path / "none") == "S4EWNX0R123456"
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    for name in ("ata-SAMSUNG_SSD_S4EW-part1", "ata-SAMSUNG_SSD_S4EW", "wwn-0x5002"):
        (by_id / name).write_text("")
    assert fingerprint.disk_serial(tmp_path / "none", by_id) == "ata-SAMSUNG_SSD_S4EW"
    assert fingerprint.disk_serial(tmp_path / "none", tmp_path / "none") == "unknown"

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold\nflags\t\t: sse2 fpu avx\n\nprocessor\t: 1\n"
    )
    got = fingerprint.cpu_id(cpuinfo)
    flags_hash = hashlib.sha256(b"avx fpu sse2").hexdigest()[:16]
    assert got == f"Intel(R) Xeon(R) Gold flags-sha256:{flags_hash}"

    machine_id = tmp_path / "machine-id"
    machine_id.write_text("0123456789abcdef0123456789abcdef\n")
    assert fingerprint.machine_code(machine_id) == fingerprint.machine_code(machine_id)
    assert "0123456789abcdef" not in fingerprint.machine_code(machine_id)
