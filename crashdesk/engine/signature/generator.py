"""Running a profile's rules over one crash."""

from __future__ import annotations

from crashdesk.engine.signature.convert import crash_data_from_input
from crashdesk.engine.signature.frames import FrameWalker
from crashdesk.engine.signature.profiles import Profile, mozilla_profile
from crashdesk.engine.signature.result import SignatureResult, _Run
from crashdesk.engine.signature.rules import RULES


class SignatureGenerator:
    """Compiled form of a :class:`Profile`; reuse one instance for many crashes (it caches per frame).

    ``generate`` never raises for bad crash data: a rule that fails leaves the signature as it was and adds
    the note ``"<Rule>: Rule failed: <error>"``, exactly like siggen.
    """

    def __init__(self, profile: Profile | None = None) -> None:
        self.profile = profile if profile is not None else mozilla_profile()
        self.walker = FrameWalker(self.profile.lists)
        self.rules = [RULES[name]() for name in self.profile.rules]

    def prepare(self) -> None:
        """Build now what the rules would build on the first crash (the generic profile's module matchers):
        a worker does this while no crash waits for it."""
        for rule in self.rules:
            rule.prepare(self)

    def generate(self, crash_data, *, explain: bool = False) -> SignatureResult:
        """Signature for siggen-style crash data (any value; non-dicts give an empty signature + notes)."""
        run = _Run(explain)
        for rule in self.rules:
            try:
                if rule.applies(crash_data, run, self):
                    rule.apply(crash_data, run, self)
            except Exception as exc:  # siggen's failure semantics: note it, keep going
                run.note(rule.name, f"Rule failed: {exc}")
        frames = run.extra_frames or []
        return SignatureResult(
            signature=run.signature,
            proto_signature=" | ".join(frames),
            notes=run.notes,
            normalized_frames=frames,
            explanation=run.log,
            frames=run.frame_details,
            profile=self.profile.name,
            rule_set=self.profile.follows,
        )

    def generate_from(self, obj, *, explain: bool = False) -> SignatureResult:
        """Accepts crash data, ``{"crash_data": ...}``, ``{"stackwalk": ..., "annotations": ...}`` or a
        Socorro processed crash (``{"json_dump": ...}``)."""
        return self.generate(crash_data_from_input(obj), explain=explain)


_DEFAULT: SignatureGenerator | None = None


def generate_signature(crash, profile: Profile | None = None, *, explain: bool = False) -> SignatureResult:
    """One-shot helper: signature for any accepted input shape (see :meth:`SignatureGenerator.generate_from`).

    Without ``profile`` the built-in Mozilla profile is used (its generator is built once and kept).
    """
    global _DEFAULT
    if profile is None:
        if _DEFAULT is None:
            _DEFAULT = SignatureGenerator()
        gen = _DEFAULT
    else:
        gen = SignatureGenerator(profile)
    return gen.generate_from(crash, explain=explain)
