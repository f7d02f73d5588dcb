"""The export redaction policy: which annotations leave a machine as they are, which are removed, which are
masked, and what is scrubbed out of the values that stay.

The policy starts from the one list of Crash Stats' protected fields (:mod:`crashdesk.model.protected_fields`)
and adds ``Comments`` (already protected), free-text message annotations, names that say they hold a secret
(``password``, ``token``...), user and host names in paths, e-mail and IP addresses. Editing it changes exports
only: the collector's read API keeps protecting exactly :mod:`~crashdesk.model.protected_fields`.

Names are compared on a *canonical* form so that a hostile crash cannot slip a field past the policy by
spelling: Unicode compatibility form (NFKC), format characters (zero-width spaces, joiners, bidi marks)
dropped, case folded, common Cyrillic/Greek look-alike letters mapped to Latin, and everything that is not a
letter or digit removed: ``EMAIL``, ``e-mail``, ``E\u200bmail``, ``\u0415mail`` (Cyrillic E) and ``Ｅｍａｉｌ``
all read as ``email``. Values are scrubbed on the same normalised text, recursively inside JSON objects, arrays
and strings that hold JSON; a value over :data:`MAX_VALUE_CHARS` is removed whole (it cannot be previewed).
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crashdesk.model.protected_fields import (
    PROTECTED_ANNOTATION_PREFIXES,
    PROTECTED_ANNOTATIONS,
    PROTECTED_PROCESSED,
    PROTECTED_PROCESSED_PREFIXES,
)

KEEP, REMOVE, MASK, SCRUB = "keep", "remove", "mask", "scrub"
ACTIONS = (KEEP, REMOVE, MASK)
MASKED = "[redacted]"
MAX_VALUE_CHARS = 64 * 1024
MAX_DEPTH = 32

#: annotations that carry free-form messages written by people or programs (masked by default)
FREE_TEXT_ANNOTATIONS = frozenset({
    "Notes", "AbortMessage", "IPCFatalErrorMsg", "AsyncShutdownTimeout", "GraphicsCriticalError",
    "StartupCrash", "ShutdownProgress", "Message", "Description", "UserComment",
})
#: words that, inside an annotation name, say it holds a secret or a personal detail (removed by default)
SENSITIVE_NAME_WORDS = ("password", "passwd", "secret", "token", "apikey", "cookie", "session", "email",
                        "credential", "authorization", "privatekey")

# Cyrillic and Greek letters that look like Latin ones (after case folding).
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "с": "c", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ɡ": "g", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ℓ": "l", "ı": "i",
})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_text(text: str) -> str:
    """``text`` in NFKC with format characters (zero-width, bidi controls) removed."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", text)


def canonical_name(name: str) -> str:
    """The form names are compared on (see the module docstring)."""
    folded = normalize_text(name).casefold().translate(_LOOKALIKES)
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode())


# -- value patterns --------------------------------------------------------------------------------------

# the last label must be letters: ``memcpy@GLIBC_2.14`` (a versioned symbol) is not an address
_EMAIL = re.compile(r"[\w.+%-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})*\.[A-Za-z]{2,63}(?![\w-])", re.ASCII)
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])")


def _ipv6(match: re.Match) -> str:
    text = match.group(0)
    if not any(ch.isdigit() for ch in text):
        return text   # C++ scopes such as ``a::b`` parse as IPv6 too
    try:
        ipaddress.IPv6Address(text.split("%", 1)[0])
    except ValueError:
        return text
    return IP


# a user name after a home folder (written as x of the same length): /home/NAME, /Users/NAME, /var/home/NAME, C:\Users\NAME, C:\Documents and
# Settings\NAME (either slash, anywhere in a path, as scrubbed dumps find them); a host name in \\HOST\share and file://HOST/
_HOME = re.compile(r"(?i)((?:[a-z]:)?[\\/]+(?:var[\\/]+)?(?:home|users|documents and settings)[\\/]+)"
                   r"([^\\/\s\"':;,)\]]+)")
_UNC = re.compile(r"(?<![\w\\])(\\\\)([^\\/\s\"']+)(?=\\)")
_FILE_URL = re.compile(r"(?i)(file://)([^/\s\"']+)(?=/)")
EMAIL, IP = "[email]", "[ip]"


def _mask_group2(m: re.Match) -> str:
    """A user or host name in a path as ``x`` of the same length, as scrubbed dumps write it, so that a
    processed crash of the scrubbed dump names the same paths as the exported processed crash."""
    return m.group(1) + "x" * len(m.group(2))
_VERSIONISH = ("version", "buildid")


@dataclass
class RedactionPolicy:
    """What an export does with annotations and dumps. ``rules`` maps an annotation name to ``keep``,
    ``remove`` or ``mask`` and wins over every default (matched on the canonical name)."""

    rules: dict[str, str] = field(default_factory=dict)
    use_protected_list: bool = True
    free_text: str = MASK
    sensitive_names: str = REMOVE
    scrub_paths: bool = True
    scrub_emails: bool = True
    scrub_ips: bool = True
    include_dumps: bool = True
    scrub_dumps: bool = True
    #: the collector (app and ``crashdesk collector``) also removes its removed fields (``Email``...) from the
    #: Crashpad annotations inside each dump it receives. Off by default: the dump is the user's evidence.
    strip_dumps_on_receipt: bool = False

    # -- persistence -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"rules": dict(sorted(self.rules.items())), "use_protected_list": self.use_protected_list,
                "free_text": self.free_text, "sensitive_names": self.sensitive_names,
                "scrub_paths": self.scrub_paths, "scrub_emails": self.scrub_emails, "scrub_ips": self.scrub_ips,
                "include_dumps": self.include_dumps, "scrub_dumps": self.scrub_dumps,
                "strip_dumps_on_receipt": self.strip_dumps_on_receipt}

    @classmethod
    def from_json(cls, doc: Any) -> RedactionPolicy:
        """A policy from its JSON form; raises ``ValueError`` naming what is wrong."""
        if not isinstance(doc, dict):
            raise ValueError("a redaction policy is a JSON object")
        policy = cls()
        rules = doc.get("rules", {})
        if not isinstance(rules, dict):
            raise ValueError("'rules' must be an object of name -> keep|remove|mask")
        for name, action in rules.items():
            policy.set_rule(str(name), action)
        for key in ("free_text", "sensitive_names"):
            if key in doc:
                if doc[key] not in ACTIONS:
                    raise ValueError(f"{key!r} must be one of {', '.join(ACTIONS)}")
                setattr(policy, key, doc[key])
        for key in ("use_protected_list", "scrub_paths", "scrub_emails", "scrub_ips", "include_dumps",
                    "scrub_dumps", "strip_dumps_on_receipt"):
            if key in doc:
                if not isinstance(doc[key], bool):
                    raise ValueError(f"{key!r} must be true or false")
                setattr(policy, key, doc[key])
        return policy

    def set_rule(self, name: str, action: Any) -> None:
        if action not in ACTIONS:
            raise ValueError(f"rule for {name!r}: {action!r} is not one of {', '.join(ACTIONS)}")
        if not canonical_name(name):
            raise ValueError(f"{name!r} is not an annotation name")
        self.rules[name] = action

    # -- names -------------------------------------------------------------------------------------

    def action_for(self, name: str) -> tuple[str, str]:
        """(action, why) for the annotation ``name``: ``keep`` values are still scrubbed unless a rule
        keeps them as they are."""
        canon = canonical_name(name)
        for rule_name, action in self.rules.items():
            if canonical_name(rule_name) == canon:
                return action, "rule"
        if self.use_protected_list:
            if any(canonical_name(p) == canon for p in PROTECTED_ANNOTATIONS):
                return REMOVE, "protected"
            if any(canon.startswith(canonical_name(p)) for p in PROTECTED_ANNOTATION_PREFIXES):
                return REMOVE, "protected"
        if any(canonical_name(p) == canon for p in FREE_TEXT_ANNOTATIONS):
            return self.free_text, "free text"
        if any(word in canon for word in SENSITIVE_NAME_WORDS):
            return self.sensitive_names, "sensitive name"
        return KEEP, "default"

    def explicitly_kept(self, name: str) -> bool:
        canon = canonical_name(name)
        return any(canonical_name(n) == canon and a == KEEP for n, a in self.rules.items())

    # -- values ------------------------------------------------------------------------------------

    def scrub_text(self, text: str, *, ips: bool | None = None) -> str:
        """``text`` with user/host names in paths, e-mail and IP addresses replaced (normalised first)."""
        norm = normalize_text(text)
        out = norm
        if self.scrub_paths:
            out = _HOME.sub(_mask_group2, out)
            out = _UNC.sub(_mask_group2, out)
            out = _FILE_URL.sub(_mask_group2, out)
        if self.scrub_emails:
            out = _EMAIL.sub(EMAIL, out)
        if self.scrub_ips if ips is None else ips:
            out = _IPV4.sub(IP, out)
            out = _IPV6_CANDIDATE.sub(_ipv6, out)
        return text if out == norm else out

    def mask_paths(self, text: str) -> str:
        """Only the user and host names in paths of ``text`` masked (``x`` of the same length), nothing
        normalised: for symbol files, whose other text must stay byte for byte."""
        if not self.scrub_paths:
            return text
        for pattern in (_HOME, _UNC, _FILE_URL):
            text = pattern.sub(_mask_group2, text)
        return text

    def scrub_value(self, value: Any, *, ips: bool = True, depth: int = 0) -> Any:
        """``value`` (string, number, JSON object or array, a string holding JSON) with every string scrubbed
        and every nested key the policy removes dropped (masked keys masked)."""
        if depth > MAX_DEPTH:
            return MASKED
        if isinstance(value, str):
            stripped = value.strip()
            if stripped[:1] in ("{", "[") and depth < MAX_DEPTH:
                try:
                    inner = json.loads(stripped)
                except (ValueError, RecursionError):
                    inner = None
                if isinstance(inner, dict | list):
                    cleaned = self.scrub_value(inner, ips=ips, depth=depth + 1)
                    return value if cleaned == inner else json.dumps(cleaned, ensure_ascii=False)
            return self.scrub_text(value, ips=ips)
        if isinstance(value, list):
            return [self.scrub_value(v, ips=ips, depth=depth + 1) for v in value]
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                action, _why = self.action_for(str(k))
                if action == REMOVE:
                    continue
                key = self.scrub_text(str(k), ips=ips)
                out[key] = MASKED if action == MASK else self.scrub_value(v, ips=ips, depth=depth + 1)
            return out
        return value

    def apply(self, name: str, value: Any) -> tuple[str, Any, str]:
        """(action taken, new value or None when removed, why) for one annotation. The action taken is
        ``keep`` (unchanged), ``scrub`` (kept, something inside replaced), ``mask`` or ``remove``."""
        action, why = self.action_for(name)
        if action == REMOVE:
            return REMOVE, None, why
        if action == MASK:
            return MASK, MASKED, why
        if self.explicitly_kept(name):
            return KEEP, value, why
        if _too_large(value):
            return REMOVE, None, "too large"
        ips = self.scrub_ips and not any(w in canonical_name(name) for w in _VERSIONISH)
        new = self.scrub_value(value, ips=ips)
        if new != value:
            return SCRUB, new, "paths/addresses"
        return KEEP, value, why

    def redact_annotations(self, annotations: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[str,
                                                                                                         str]]]:
        """The annotations that leave, and ``{name: (action taken, why)}`` for every input name."""
        out: dict[str, Any] = {}
        actions: dict[str, tuple[str, str]] = {}
        for name, value in annotations.items():
            taken, new, why = self.apply(name, value)
            actions[name] = (taken, why)
            if taken != REMOVE:
                out[self.scrub_text(name, ips=False) if self.scrub_paths else name] = new
        return out, actions

    def redact_processed(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A processed crash without its protected fields; strings inside keep their structure but lose user
        names in paths and e-mail addresses (IP scrubbing is left out here: module versions look like IPv4)."""
        out = {k: v for k, v in doc.items() if not (
            k in PROTECTED_PROCESSED or k.startswith(PROTECTED_PROCESSED_PREFIXES))}
        return _scrub_strings(out, self, 0)


def _too_large(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) > MAX_VALUE_CHARS
    if isinstance(value, dict | list):
        try:
            return len(json.dumps(value)) > MAX_VALUE_CHARS
        except (ValueError, RecursionError):
            return True
    return False


def _scrub_strings(value: Any, policy: RedactionPolicy, depth: int) -> Any:
    if depth > 200:
        return value
    if isinstance(value, str):
        return policy.scrub_text(value, ips=False)
    if isinstance(value, list):
        return [_scrub_strings(v, policy, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_strings(v, policy, depth + 1) for k, v in value.items()}
    return value


def policy_summary(policy: RedactionPolicy, names: Iterable[str]) -> list[dict[str, str]]:
    """The action the policy would take on each of ``names`` (for the Settings editor)."""
    return [{"name": n, "action": policy.action_for(n)[0], "why": policy.action_for(n)[1]} for n in names]


__all__ = ["ACTIONS", "FREE_TEXT_ANNOTATIONS", "KEEP", "MASK", "MASKED", "MAX_VALUE_CHARS", "REMOVE", "SCRUB",
           "RedactionPolicy", "canonical_name", "normalize_text", "policy_summary"]
