"""Crash signatures compatible with Mozilla's siggen 2.2.20241029, with editable profiles.

Pure: no database, no network. Profiles come as data or from folders the caller names.

Typical use::

    from crashdesk.engine.signature import SignatureGenerator, resolve_profile
    gen = SignatureGenerator(resolve_profile("mozilla"))
    result = gen.generate_from({"stackwalk": doc, "annotations": {...}}, explain=True)
    result.signature, result.proto_signature, result.notes, result.explanation
"""

from crashdesk.engine.signature.batch import sign_many
from crashdesk.engine.signature.convert import crash_data_from_input, crash_data_from_stackwalk
from crashdesk.engine.signature.errors import ListSyntaxError, ProfileError, SignatureError
from crashdesk.engine.signature.generator import SignatureGenerator, generate_signature
from crashdesk.engine.signature.lists import SignatureLists, parse_list_text
from crashdesk.engine.signature.profiles import (
    SIGGEN_RULE_SET,
    Profile,
    builtin_profile,
    create_generic_profile,
    create_profile_from_mozilla,
    diff_profiles,
    generic_profile,
    list_profiles,
    load_profile,
    mozilla_profile,
    resolve_profile,
    save_profile,
)
from crashdesk.engine.signature.regenerate import RegenerationReport, regenerate, regeneration_report
from crashdesk.engine.signature.result import SignatureResult
from crashdesk.engine.signature.rules import RULES, SIGGEN_RULE_ORDER

__all__ = [
    "RULES", "SIGGEN_RULE_ORDER", "SIGGEN_RULE_SET", "ListSyntaxError", "Profile", "ProfileError",
    "RegenerationReport", "SignatureError", "SignatureGenerator", "SignatureLists", "SignatureResult",
    "builtin_profile", "crash_data_from_input", "crash_data_from_stackwalk", "create_generic_profile",
    "create_profile_from_mozilla", "diff_profiles", "generate_signature", "generic_profile", "list_profiles", "load_profile",
    "mozilla_profile", "parse_list_text", "regenerate", "regeneration_report", "resolve_profile", "save_profile", "sign_many",
]
