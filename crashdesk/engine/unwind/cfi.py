"""Unwinding with the module's call-frame information: ``STACK WIN`` (x86 FrameData programs, then FPO) and,
if that yields nothing, ``STACK CFI`` rules. Results are not validated beyond evaluating (as the reference).
"""

from __future__ import annotations

from crashdesk.engine.symbols_api import StackWinInfo
from crashdesk.engine.unwind.context import FrameContext, UnwindEnv, Walked
from crashdesk.engine.unwind.postfix import U32, eval_cfi_rules, eval_win_program

# The reference's FPO unwinder skips a "leftover" return address equal to the context frame's pc.
FPO_SKIP_LEFTOVER_RETURN_ADDRESS = True
# The reference's FrameData unwinder starts the return-address search at $ebp + 4 for programs using "@".
WIN_ALIGNED_SEARCH_FROM_EBP = True

_WIN_OUTPUTS = ("eip", "esp", "ebp", "ebx", "esi", "edi")


class _CallerBuilder:
    """The caller's register state as the CFI walker builds it: a copy of the callee's values with only the
    callee-saved registers (that were valid in the callee) marked valid."""

    __slots__ = ("ctx", "spec")

    def __init__(self, callee: FrameContext) -> None:
        spec = callee.spec
        self.spec = spec
        skip = callee.not_forwarded
        valid = {r for r in spec.callee_saved if r not in skip and callee.get(r) is not None}
        self.ctx = FrameContext(spec, dict(callee.values), valid)

    def set(self, name: str, value: int) -> bool:
        canon = self.spec.canonical(name)
        if canon is None or value < 0 or value > self.spec.mask:
            return False
        self.ctx.values[canon] = value
        assert self.ctx.valid is not None
        self.ctx.valid.add(canon)
        return True

    def clear(self, name: str) -> None:
        assert self.ctx.valid is not None
        self.ctx.valid.discard(name)


def caller_by_cfi(env: UnwindEnv, callee: Walked, grand: Walked | None) -> FrameContext | None:
    """The caller's registers from the callee module's unwind info, or None when there is none or it fails.
    The grand-callee's parameter size feeds STACK WIN frame sizes."""
    cache = env.cache
    module = cache.module_at(callee.lookup)
    if module is None:
        return None
    sym = cache.symbols(module)
    if sym is None or callee.lookup < module.base:
        return None
    rva = callee.lookup - module.base
    ctx = callee.ctx
    get_register = ctx.get
    builder = _CallerBuilder(ctx)
    if env.spec.name == "x86":
        win = cache.stack_win_at(module, sym, rva)
        if win is not None:
            grand_params = (grand.frame.parameter_size or 0) if grand is not None else 0
            if win.has_program_string and win.program_string is not None:
                ok = _walk_win_framedata(env, win, get_register, grand_params, builder)
            else:
                ok = _walk_win_fpo(env, win, get_register, grand_params, grand is not None, builder)
            if ok:
                return builder.ctx
            builder = _CallerBuilder(ctx)

    rules = cache.cfi_at(module, sym, rva)
    if rules is None:
        return None
    result = eval_cfi_rules(rules.rules, get_register, env.read_word)
    if result is None:
        return None
    if not builder.set(env.spec.sp, result.cfa) or not builder.set(env.spec.ip, result.ra):
        return None
    for name, value in result.registers.items():
        if value is None:
            builder.clear(name)
        else:
            builder.set(name, value)
    return builder.ctx


def _walk_win_framedata(env, win: StackWinInfo, get_register, grand_params: int, builder) -> bool:
    esp = get_register("esp")
    ebp = get_register("ebp")
    if esp is None or ebp is None:
        return False
    frame_size = (win.local_size + win.saved_register_size + grand_params) & U32
    variables = {"$esp": esp & U32, "$ebp": ebp & U32}
    ebx = get_register("ebx")
    if ebx is not None:
        variables["$ebx"] = ebx & U32
    program = win.program_string or ""
    if WIN_ALIGNED_SEARCH_FROM_EBP and "@" in program:
        search = ebp + 4
    else:
        search = esp + frame_size
    if search > U32:
        return False
    variables.update({
        ".cbParams": win.parameter_size & U32,
        ".cbCalleeParams": grand_params & U32,
        ".cbSavedRegs": win.saved_register_size & U32,
        ".cbLocals": win.local_size & U32,
        ".raSearch": search,
        ".raSearchStart": search,
    })
    out = eval_win_program(program, variables, env.read_word)
    if out is None:
        return False
    for reg in _WIN_OUTPUTS:
        value = out.get("$" + reg)
        if value is not None and not builder.set(reg, value):
            return False
    return True


def _walk_win_fpo(env, win: StackWinInfo, get_register, grand_params: int, has_grand: bool, builder) -> bool:
    frame_size = win.local_size + win.saved_register_size + grand_params
    esp = get_register("esp")
    if esp is None:
        return False
    eip_address = esp + frame_size
    caller_eip = env.read_word(eip_address)
    if caller_eip is None:
        return False
    if FPO_SKIP_LEFTOVER_RETURN_ADDRESS and not has_grand:
        callee_eip = get_register("eip")
        if callee_eip is None:
            return False
        if caller_eip == callee_eip:
            eip_address += 4
            caller_eip = env.read_word(eip_address)
            if caller_eip is None:
                return False
    caller_esp = eip_address + 4
    if win.allocates_base_pointer:
        ebp_address = esp + grand_params + win.saved_register_size - 8
        caller_ebp = env.read_word(ebp_address) if ebp_address >= 0 else None
        if caller_ebp is None:
            return False
    else:
        ebx = get_register("ebx")
        if ebx is not None and not builder.set("ebx", ebx):
            return False
        caller_ebp = get_register("ebp")
        if caller_ebp is None:
            return False
    return builder.set("eip", caller_eip) and builder.set("esp", caller_esp) and builder.set("ebp", caller_ebp)
