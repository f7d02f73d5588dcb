"""The outcome of signature generation for one crash."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SignatureResult:
    """Signature, proto-signature and the notes that explain them.

    ``notes`` are siggen-compatible user-facing notes (``"<Rule>: <text>"``). ``explanation`` is filled
    when generation ran with ``explain=True``: one line per decision (frame normalised, skipped by which list
    entry, combined, where the walk stopped, which rule changed the signature and how).
    """

    signature: str = ""
    proto_signature: str = ""
    notes: list[str] = field(default_factory=list)
    normalized_frames: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    #: with ``explain=True``: one dict per considered frame (see ``explain.frame_details``)
    frames: list[dict] = field(default_factory=list)
    profile: str = ""
    rule_set: str = ""

    def to_dict(self, *, explain: bool = False) -> dict:
        """JSON-ready form: ``signature``, ``proto_signature``, ``notes`` (+ ``explanation`` on request)."""
        out = {"signature": self.signature, "proto_signature": self.proto_signature, "notes": list(self.notes)}
        if explain:
            out["explanation"] = list(self.explanation)
            out["normalized_frames"] = list(self.normalized_frames)
            out["frames"] = list(self.frames)
            out["profile"] = self.profile
            out["rule_set"] = self.rule_set
        return out


class _Run:
    """Mutable state of one generation run, shared by the rules."""

    __slots__ = ("signature", "notes", "extra_frames", "explain", "log", "frame_details")

    def __init__(self, explain: bool) -> None:
        self.signature = ""
        self.notes: list[str] = []
        self.extra_frames: list[str] | None = None
        self.explain = explain
        self.log: list[str] = []
        self.frame_details: list[dict] = []

    def set(self, rule: str, signature: str) -> None:
        if self.explain and signature != self.signature:
            self.log.append(f'{rule}: signature "{self.signature}" -> "{signature}"')
        self.signature = signature

    def note(self, rule: str, text: str) -> None:
        self.notes.append(f"{rule}: {text}")
