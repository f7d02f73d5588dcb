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
        return _arm_description(si)
    return None


_ARM_VENDORS = {0x41: "ARM", 0x51: "Qualcomm", 0x56: "Marvell", 0x69: "Intel/Marvell"}
_ARM_PARTS = {
    0x4100C050: "Cortex-A5", 0x4100C080: "Cortex-A8", 0x4100C090: "Cortex-A9", 0x4100C0F0: "Cortex-A15",
    0x4100C140: "Cortex-R4", 0x4100C150: "Cortex-R5", 0x4100B360: "ARM1136", 0x4100B560: "ARM1156",
    0x4100B760: "ARM1176", 0x4100B020: "ARM11-MPCore", 0x510000F0: "Scorpion", 0x512000F0: "Scorpion",
    0x510006F0: "Krait",
}  # fmt: skip
_ARM_HWCAPS = ("swp", "half", "thumb", "26bit", "fastmult", "fpa", "vfp", "edsp", "java", "iwmmxt", "crunch",
               "thumbee", "neon", "vfpv3", "vfpv3d16", "tls", "vfpv4", "idiva", "idivt")  # fmt: skip


def _arm_description(si: SystemInfo) -> str:
    """``ARMv7 ARM Cortex-A9 features: swp,half,thumb`` from the level, the CPUID register and the Linux
    ELF hwcaps (the CPU union of the system info holds ``cpuid`` then ``elf_hwcaps``)."""
    text = f"ARMv{si.processor_level}"
    cpuid = si.arm_cpuid
    if cpuid:
        vendor_id = cpuid >> 24
        part = cpuid & 0xFF00FFF0
        vendor = _ARM_VENDORS.get(vendor_id)
        if vendor is None:
            text += f" vendor({vendor_id:#x}) part({part:#x})"
        elif part in _ARM_PARTS:
            text += f" {vendor} {_ARM_PARTS[part]}"
        else:
            text += f" {vendor} part({part:#x})"
    names = [name for bit, name in enumerate(_ARM_HWCAPS) if si.arm_hwcaps >> bit & 1]
    if names:
        text += " features: " + ",".join(names)
    return text
