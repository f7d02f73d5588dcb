"""Per-CPU facts the unwinders share: pointer width, register names and aliases, the callee-saved set and the
amount subtracted from a return address to land inside the call instruction."""

from __future__ import annotations

from crashdesk.engine.record_class import Record, field
from crashdesk.errors import CrashDeskError


class UnsupportedCpu(CrashDeskError):
    """The stackwalker has no unwinder for this CPU."""


class CpuSpec(Record, frozen=True, slots=True):
    """What the unwinders need to know about one CPU family."""

    name: str
    pointer_size: int
    ip: str
    sp: str
    fp: str
    registers: tuple[str, ...]  # the general-purpose registers, in the reference's order
    callee_saved: tuple[str, ...]  # forwarded verbatim to the caller by CFI unless a rule says otherwise
    call_adjust: int  # subtracted from a caller's return address (the "offset" quirk)
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def mask(self) -> int:
        """All ones at the pointer width."""
        return (1 << (8 * self.pointer_size)) - 1

    @property
    def hex_digits(self) -> int:
        return 2 * self.pointer_size

    def canonical(self, name: str) -> str | None:
        """The register's canonical name (``x29`` -> ``fp``), or None for a name this CPU doesn't have."""
        return _CANONICAL[self.name].get(name)


AMD64 = CpuSpec(
    name="amd64",
    pointer_size=8,
    ip="rip",
    sp="rsp",
    fp="rbp",
    registers=(
        "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
    ),
    callee_saved=("rbx", "rbp", "r12", "r13", "r14", "r15"),
    call_adjust=1,
)

X86 = CpuSpec(
    name="x86",
    pointer_size=4,
    ip="eip",
    sp="esp",
    fp="ebp",
    registers=("eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags"),
    callee_saved=("ebp", "ebx", "edi", "esi"),
    call_adjust=1,
    aliases={"efl": "eflags"},
)

ARM64 = CpuSpec(
    name="arm64",
    pointer_size=8,
    ip="pc",
    sp="sp",
    fp="fp",
    registers=tuple(f"x{i}" for i in range(29)) + ("fp", "lr", "sp", "pc"),
    callee_saved=tuple(f"x{i}" for i in range(19, 29)) + ("fp",),
    call_adjust=4,
    aliases={"x29": "fp", "x30": "lr"},
)

ARM = CpuSpec(
    name="arm",
    pointer_size=4,
    ip="pc",
    sp="sp",
    fp="fp",
    registers=tuple(f"r{i}" for i in range(11)) + ("r12", "fp", "sp", "lr", "pc"),
    callee_saved=("r4", "r5", "r6", "r7", "r8", "r9", "r10", "fp"),
    call_adjust=2,
    aliases={"r11": "fp", "r13": "sp", "r14": "lr", "r15": "pc", "ip": "r12"},
)

CPUS: dict[str, CpuSpec] = {c.name: c for c in (AMD64, X86, ARM64, ARM)}
_CANONICAL: dict[str, dict[str, str]] = {
    c.name: {**{r: r for r in c.registers}, **{a: r for a, r in c.aliases.items() if r in c.registers}}
    for c in CPUS.values()
}

# Names other parts of the world use for the same CPUs.
_CPU_ALIASES = {
    "x86_64": "amd64", "x86-64": "amd64", "amd64": "amd64",
    "x86": "x86", "i386": "x86", "i686": "x86",
    "arm64": "arm64", "aarch64": "arm64",
    "arm": "arm",
}


def cpu_spec(cpu: str) -> CpuSpec:
    """The :class:`CpuSpec` for a reference cpu name; raises :class:`UnsupportedCpu` otherwise."""
    spec = CPUS.get(_CPU_ALIASES.get((cpu or "").lower(), ""))
    if spec is None:
        raise UnsupportedCpu(f"no unwinder for cpu {cpu!r}")
    return spec


def canonical_registers(spec: CpuSpec, registers: dict[str, int]) -> dict[str, int]:
    """The registers of a thread context under their canonical names, unknown names dropped, values masked
    to the pointer width."""
    out: dict[str, int] = {}
    mask = spec.mask
    for name, value in registers.items():
        canon = spec.canonical(name)
        if canon is not None and isinstance(value, int):
            out[canon] = value & mask
    return out
