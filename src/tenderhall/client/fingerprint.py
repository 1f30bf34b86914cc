"""The bid tool's machine fingerprint, written into every bid manifest (DESIGN §4).

Supervisors compare fingerprints across the bids of one section: bids made on the same computer
by "different" bidders are a classic sign of collusion (围标串标, 条例 Art 40 (一)(二)). Every field
is best effort and never fails: a value that cannot be read is ``"unknown"``.

* ``machine_code``: an application-specific ID derived from ``/etc/machine-id`` (or the host
  name when there is none). systemd documents the machine ID as confidential and asks
  applications to publish only a keyed hash of it; equal machines still give equal codes.
* ``mac``: the first non-loopback network interface's hardware address (sorted by name).
* ``disk_serial``: the first disk serial number the kernel shows, else the first stable
  ``/dev/disk/by-id`` name.
* ``cpu_id``: the CPU model name and a hash of its feature flags (x86 CPUs have no readable
  serial number any more).
* ``tool_version``: ``tenderhall-bid/<version>``.
"""

from __future__ import annotations

import hashlib
import hmac
import platform
import uuid
from pathlib import Path

from tenderhall import __version__

UNKNOWN = "unknown"
_MACHINE_CODE_KEY = b"tenderhall-bid/machine-code/v1"
_NO_MAC = {"", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def machine_code(machine_id_path: Path = Path("/etc/machine-id")) -> str:
    raw = _read_text(machine_id_path) or _read_text(Path("/var/lib/dbus/machine-id"))
    source = raw or f"host:{platform.node()}"
    if not source or source == "host:":
        return UNKNOWN
    # As systemd's sd_id128_get_machine_app_specific(): publish a keyed hash, not the ID itself.
    return hmac.new(_MACHINE_CODE_KEY, source.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def mac_address(net_dir: Path = Path("/sys/class/net")) -> str:
    try:
        interfaces = sorted(p for p in net_dir.iterdir() if p.name != "lo")
    except OSError:
        interfaces = []
    for interface in interfaces:
        address = _read_text(interface / "address").lower()
        if address not in _NO_MAC and len(address) == 17:
            return address
    node = uuid.getnode()
    if node >> 40 & 1:  # the multicast bit: uuid made the number up, there is no readable MAC
        return UNKNOWN
    return ":".join(f"{node >> shift & 0xFF:02x}" for shift in range(40, -8, -8))


def disk_serial(block_dir: Path = Path("/sys/block"), by_id_dir: Path = Path("/dev/disk/by-id")) -> str:
    try:
        disks = sorted(block_dir.iterdir())
    except OSError:
        disks = []
    for disk in disks:
        if disk.name.startswith(("loop", "ram", "zram", "dm-", "sr", "md")):
            continue
        for name in ("device/serial", "serial", "device/wwid"):
            serial = _read_text(disk / name)
            if serial:
                return serial
    try:
        names = sorted(p.name for p in by_id_dir.iterdir())
    except OSError:
        names = []
    for name in names:
        if "-part" in name or name.startswith(("wwn-", "dm-", "lvm-", "md-", "nvme-eui.")):
            continue
        return name
    return UNKNOWN


def cpu_id(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    model = flags = ""
    for line in _read_text(cpuinfo).splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if not model and key in ("model name", "hardware", "cpu model", "processor") and value:
            if key != "processor" or not value.isdigit():  # x86 "processor : 0" is an index
                model = value
        elif not flags and key in ("flags", "features"):
            flags = " ".join(sorted(value.split()))
    model = model or platform.processor() or platform.machine()
    if not model:
        return UNKNOWN
    if flags:
        return f"{model} flags-sha256:{hashlib.sha256(flags.encode()).hexdigest()[:16]}"
    return model


def tool_version() -> str:
    return f"tenderhall-bid/{__version__}"


def machine_fingerprint() -> dict[str, str]:
    """The manifest's ``machine`` object."""
    return {
        "machine_code": machine_code(),
        "mac": mac_address(),
        "disk_serial": disk_serial(),
        "cpu_id": cpu_id(),
        "tool_version": tool_version(),
    }
