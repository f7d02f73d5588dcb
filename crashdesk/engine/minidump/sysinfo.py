"""``system_info`` strings (OS version, CPU description) as ``minidump-stackwalk`` prints them."""

from __future__ import annotations

from crashdesk.engine.minidump.records import SystemInfo


def os_version(si: SystemInfo) -> str:
    """``major.minor.build`` plus the CSD version (service pack / kernel build) when there is one."""
    base = f"{si.major_version}.{si.minor_version}.{si.build_number}"
    csd = si.csd_version or ""
    if base == "0.0.0" and si.os in ("Linux", "Android") and csd.startswith("Linux "):
        # Breakpad's Linux writer leaves the numbers at zero and stores "Linux <release> <version> <machine>".
        parts = csd.split(" ")
        if len(parts) >= 3:
            return " ".join(parts[1:-1])
    if si.csd_version:
        return f"{base} {si.csd_version}"
    return base


def cpu_description(si: SystemInfo) -> str | None:
    """``GenuineIntel family 6 model 13 stepping 8`` (x86), ``family 25 model 1 stepping 1`` (amd64),
    ``ARMv7`` (arm); None when the dump gives nothing to describe."""
    arch = si.cpu_arch
    if arch in ("x86", "amd64"):
        family = si.processor_level
        model = (si.processor_revision >> 8) & 0xFF
        stepping = si.processor_revision & 0xFF
        text = f"family {family} model {model} stepping {stepping}"
        if arch == "x86" and si.vendor_id:
            text = f"{si.vendor_id} {text}"
        return text
    if arch == "arm":
        return f"ARMv{si.processor_level}"
    return None
