"""The signature rules, each a predicate plus an action over the crash data and the run state.

Names and behaviour follow siggen 2.2.20241029 (facts: ``shared/protocols/signatures.md`` section 3). A rule
that raises is recorded as ``"<Rule>: Rule failed: <error>"`` by the generator and the next rule runs;
the rules below therefore use ordinary Python operations on the values they read, so odd input types fail
where siggen's rules fail.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from crashdesk.engine.signature import java
from crashdesk.engine.signature.frames import WalkTrace, crashing_thread_index, thread_at
from crashdesk.engine.signature.result import _Run

if TYPE_CHECKING:
    from crashdesk.engine.signature.generator import SignatureGenerator

MAX_SIGNATURE_LENGTH = 255
_WHITESPACE = re.compile(r"\s")
_WHITESPACE_RUN = re.compile(r"\s\s+")
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]+")
_PRINTABLE_ASCII = tuple(chr(c) for c in range(32, 127))


class Rule:
    """Base class: ``applies`` decides, ``apply`` changes the run state."""

    name = "Rule"
    description = ""

    def applies(self, crash: dict, run: _Run, gen: SignatureGenerator) -> bool:
        return True

    def apply(self, crash: dict, run: _Run, gen: SignatureGenerator) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def prepare(self, gen: SignatureGenerator) -> None:
        """Build now what the first crash would otherwise build (see :meth:`SignatureGenerator.prepare`)."""


class SignatureGenerationRule(Rule):
    name = "SignatureGenerationRule"
    description = "base signature: Java trace or exception, else the crashing thread's frames"

    def apply(self, crash, run, gen, thread_index: int | None = None) -> None:
        if crash.get("java_stack_trace"):
            signature, notes = java.from_stack_trace(crash["java_stack_trace"])
            for note in notes:
                run.note(self.name, note)
            if run.explain:
                run.log.append(f"{self.name}: Java stack trace text used")
            run.set(self.name, signature)
            return
        if crash.get("java_exception"):
            signature, notes = java.from_exception(crash["java_exception"])
            for note in notes:
                run.note(self.name, note)
            if run.explain:
                run.log.append(f"{self.name}: structured Java exception used")
            run.set(self.name, signature)
            return
        index = crashing_thread_index(crash) if thread_index is None else thread_index
        thread = thread_at(crash, index)
        walker = gen.walker
        try:
            strings = walker.frame_strings(thread, crash.get("os") == "Windows NT")
        except (KeyError, IndexError):
            # siggen catches these around its frame list and then calls a method its result object lacks,
            # so the rule fails with this message; reproduced for identical notes.
            raise AttributeError("'Result' object has no attribute 'note'") from None
        trace = WalkTrace() if run.explain else None
        signature, notes = walker.walk(strings, index, trace)
        if strings:
            run.extra_frames = strings
        for note in notes:
            run.note(self.name, note)
        if trace is not None:
            from crashdesk.engine.signature.explain import explain_walk

            lines, details = explain_walk(self.name, walker, thread, crash, strings, trace, index)
            run.log.extend(lines)
            run.frame_details = details
        if signature:
            run.set(self.name, signature)


class StackwalkerErrorSignatureRule(Rule):
    name = "StackwalkerErrorSignatureRule"
    description = "append the stackwalker status to EMPTY signatures"

    def applies(self, crash, run, gen):
        return bool(run.signature.startswith("EMPTY") and crash.get("mdsw_status_string"))

    def apply(self, crash, run, gen):
        run.set(self.name, f"{run.signature}; {crash['mdsw_status_string']}")


class BadHardware(Rule):
    name = "BadHardware"
    description = "prefix 'bad hardware' when the crash reason says STATUS_DEVICE_DATA_ERROR"
    reasons = ("STATUS_DEVICE_DATA_ERROR",)

    def applies(self, crash, run, gen):
        reason = crash.get("reason", None)
        if not reason:
            return False
        return any(word in reason for word in self.reasons)

    def apply(self, crash, run, gen):
        run.set(self.name, f"bad hardware | {run.signature}")


class OOMSignature(Rule):
    name = "OOMSignature"
    description = "prefix 'OOM | small/large/unknown' for out-of-memory crashes"
    fragments = ("NS_ABORT_OOM", "mozalloc_handle_oom", "CrashAtUnhandlableOOM", "AutoEnterOOMUnsafeRegion",
                 "alloc::oom::oom")
    reasons = ("STATUS_FATAL_MEMORY_EXHAUSTION", "STATUS_NO_MEMORY")
    last_errors = ("ERROR_COMMITMENT_LIMIT", "ERROR_NOT_ENOUGH_MEMORY")
    small_limit = 262144

    def applies(self, crash, run, gen):
        if crash.get("oom_allocation_size"):
            return True
        signature = run.signature
        if not signature:
            return False
        if any(fragment in signature for fragment in self.fragments):
            return True
        thread = thread_at(crash, crashing_thread_index(crash))
        if thread and thread.get("last_error_value", "") in self.last_errors:
            return True
        if crash.get("reason", None) in self.reasons:
            return True
        return crash.get("js_large_allocation_failure", None) == "Reporting"

    def apply(self, crash, run, gen):
        if crash.get("js_large_allocation_failure") == "Reporting":
            run.set(self.name, f"OOM | large | {run.signature}")
            return
        try:
            size = int(crash.get("oom_allocation_size"))
        except (TypeError, AttributeError, KeyError):
            run.set(self.name, f"OOM | unknown | {run.signature}")
            return
        if size <= self.small_limit:
            run.set(self.name, "OOM | small")
        else:
            run.set(self.name, f"OOM | large | {run.signature}")


def _printable_ascii(text) -> str:
    if isinstance(text, str):
        return _NOT_PRINTABLE_ASCII.sub("", text)
    return "".join([c for c in text if c in _PRINTABLE_ASCII])


class AbortSignature(Rule):
    name = "AbortSignature"
    description = "prefix 'Abort | <cleaned abort message>'"
    max_message = 80

    def applies(self, crash, run, gen):
        return bool(crash.get("abort_message"))

    def apply(self, crash, run, gen):
        message = crash["abort_message"]
        if "###!!! ABORT: file " in message:
            run.set(self.name, f"Abort | {run.signature}")
            return
        if "###!!! ABORT:" in message:
            message = message.split("###!!! ABORT:", 1)[1]
        if ": file " in message:
            message = message.split(": file ", 1)[0]
        if "unable to find a usable font" in message:
            opening = message.find("(")
            if opening != -1:
                closing = message.rfind(")")
                if closing != -1:
                    message = message[:opening] + message[closing + 1:]
        message = _printable_ascii(message).strip()
        if len(message) > self.max_message:
            message = message[: self.max_message - 3] + "..."
        run.set(self.name, f"Abort | {message} | {run.signature}")


class SignatureShutdownTimeout(Rule):
    name = "SignatureShutdownTimeout"
    description = "replace with 'AsyncShutdownTimeout | <phase> | <conditions>'"

    def applies(self, crash, run, gen):
        return bool(crash.get("async_shutdown_timeout"))

    def apply(self, crash, run, gen):
        parts = ["AsyncShutdownTimeout"]
        try:
            data = json.loads(crash["async_shutdown_timeout"])
            phase = data.get("phase")
            parts.append(phase if isinstance(phase, str) else "(unknown)")
            conditions = [str(c["name"] if isinstance(c, dict) else c) for c in data.get("conditions") or []]
            if conditions:
                conditions.sort()
                parts.append(",".join(conditions))
            else:
                parts.append("(none)")
        except (ValueError, KeyError) as exc:
            parts.append("UNKNOWN")
            run.note(self.name, f"Error parsing AsyncShutdownTimeout: {exc}")
        run.note(self.name, f'Signature replaced with a Shutdown Timeout signature, was: "{run.signature}"')
        run.set(self.name, " | ".join(parts))


class SignatureRunWatchDog(Rule):
    """Deliberate difference: siggen builds this rule's frame walker with its *shipped* lists even when a
    custom list folder is given; here the profile's own lists are used, so an edited profile applies its
    edits to shutdown hangs too. With the built-in Mozilla profile both are the same lists."""

    name = "SignatureRunWatchDog"
    description = "shutdown hangs (RunWatchdog): recompute from thread 0 and prefix 'shutdownhang'"

    def applies(self, crash, run, gen):
        return "RunWatchdog" in run.signature

    def apply(self, crash, run, gen):
        SignatureGenerationRule().apply(crash, run, gen, thread_index=0)
        run.set(self.name, f"shutdownhang | {run.signature}")


class SignatureIPCChannelError(Rule):
    name = "SignatureIPCChannelError"
    description = "replace with 'IPCError-browser/content | <ipc_channel_error>'"

    def applies(self, crash, run, gen):
        return bool(crash.get("ipc_channel_error"))

    def apply(self, crash, run, gen):
        minidumps = crash.get("additional_minidumps") or []
        side = "browser" if "upload_file_minidump_browser" in minidumps else "content"
        text = f"IPCError-{side} | {crash['ipc_channel_error'][:100]}"
        run.note(self.name, "IPC Channel Error stomped on signature")
        run.set(self.name, text)


class SignatureIPCMessageName(Rule):
    name = "SignatureIPCMessageName"
    description = "append ' | IPC_Message_Name=<name>'"

    def applies(self, crash, run, gen):
        return bool(crash.get("ipc_message_name"))

    def apply(self, crash, run, gen):
        run.set(self.name, f"{run.signature} | IPC_Message_Name={crash['ipc_message_name']}")


class StackOverflowSignature(Rule):
    name = "StackOverflowSignature"
    description = "prefix 'stackoverflow' when the reason is EXCEPTION_STACK_OVERFLOW"
    reasons = ("EXCEPTION_STACK_OVERFLOW",)

    def applies(self, crash, run, gen):
        return crash.get("reason", None) in self.reasons

    def apply(self, crash, run, gen):
        run.set(self.name, f"stackoverflow | {run.signature}")


class HungProcess(Rule):
    name = "HungProcess"
    description = "prefix 'hang: <value>' when the Hang annotation is present"

    def applies(self, crash, run, gen):
        return crash.get("hang", None) is not None

    def apply(self, crash, run, gen):
        run.set(self.name, f"hang: {crash.get('hang')} | {run.signature}")


class SigFixWhitespace(Rule):
    name = "SigFixWhitespace"
    description = "strip, turn every whitespace character into a space, squeeze runs"

    def apply(self, crash, run, gen):
        original = run.signature
        text = original.strip()
        text = _WHITESPACE.sub(" ", text)
        text = _WHITESPACE_RUN.sub(" ", text)
        if text != original:
            run.set(self.name, text)


class SigTruncate(Rule):
    name = "SigTruncate"
    description = "cut signatures longer than 255 characters to 252 + '...'"

    def applies(self, crash, run, gen):
        return len(run.signature) > MAX_SIGNATURE_LENGTH

    def apply(self, crash, run, gen):
        run.set(self.name, run.signature[: MAX_SIGNATURE_LENGTH - 3] + "...")
        run.note(self.name, "SigTrunc: signature truncated due to length")


#: Every rule a profile may name, by siggen's rule name.
RULES: dict[str, type[Rule]] = {
    cls.name: cls
    for cls in (
        SignatureGenerationRule, StackwalkerErrorSignatureRule, BadHardware, OOMSignature, AbortSignature,
        SignatureShutdownTimeout, SignatureRunWatchDog, SignatureIPCChannelError, SignatureIPCMessageName,
        StackOverflowSignature, HungProcess, SigFixWhitespace, SigTruncate,
    )
}

#: siggen 2.2.20241029's rule order.
SIGGEN_RULE_ORDER: tuple[str, ...] = (
    "SignatureGenerationRule", "StackwalkerErrorSignatureRule", "BadHardware", "OOMSignature", "AbortSignature",
    "SignatureShutdownTimeout", "SignatureRunWatchDog", "SignatureIPCChannelError", "SignatureIPCMessageName",
    "StackOverflowSignature", "HungProcess", "SigFixWhitespace", "SigTruncate",
)
