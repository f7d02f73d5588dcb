"""A frame's register state while unwinding: values plus which of them are known to be valid.

The reference clones the callee's whole register file into the caller and then tracks validity separately, so
an invalid register can still be *read raw* (the final "did the stack pointer move" check does that). This
class keeps both: ``values`` (everything, raw) and ``valid`` (None meaning "all", as for the context frame).
"""

from __future__ import annotations

from crashdesk.engine.unwind.cpu import CpuSpec


class FrameContext:
    """Registers of one frame."""

    __slots__ = ("spec", "values", "valid", "not_forwarded")

    def __init__(self, spec: CpuSpec, values: dict[str, int], valid: set[str] | None,
                 not_forwarded: frozenset[str] = frozenset()) -> None:
        self.spec = spec
        self.values = values
        self.valid = valid  # None: every register of the CPU is valid (context frame)
        # Valid registers that CFI will not carry over to the caller as callee-saved. The reference records
        # the frame pointer of arm/arm64 frame-pointer frames under its alias (x29, r11), which its
        # callee-saved list (spelled "fp") does not match.
        self.not_forwarded = not_forwarded

    @classmethod
    def of(cls, spec: CpuSpec, regs: dict[str, int]) -> FrameContext:
        """A caller context holding exactly ``regs``, all valid."""
        return cls(spec, dict(regs), set(regs))

    def get(self, name: str) -> int | None:
        """The value of a valid register (aliases accepted), else None."""
        canon = self.spec.canonical(name)
        if canon is None:
            return None
        if self.valid is not None and canon not in self.valid:
            return None
        return self.values.get(canon, 0 if self.valid is None else None)

    def raw(self, name: str) -> int:
        """The register's value whether or not it is valid (0 when never set)."""
        return self.values.get(name, 0)

    @property
    def ip(self) -> int:
        return self.values.get(self.spec.ip, 0)

    @property
    def sp(self) -> int:
        return self.values.get(self.spec.sp, 0)

    def valid_registers(self) -> dict[str, int]:
        """The valid registers with their values, in the CPU's register order."""
        if self.valid is None:
            return {r: self.values[r] for r in self.spec.registers if r in self.values}
        return {r: self.values.get(r, 0) for r in self.spec.registers if r in self.valid}
