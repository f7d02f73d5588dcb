"""The redaction policy against hostile annotations: names that try to slip past it by case, separators,
Unicode look-alikes, fullwidth or zero-width characters; secrets nested in JSON objects and in strings holding
JSON; huge values; addresses and user names in values. Expected outcomes are the policy's documented rules."""

from __future__ import annotations

import json

import pytest

from crashdesk.model.protected_fields import PROTECTED_ANNOTATIONS
from crashdesk.model.redaction import MASKED, MAX_VALUE_CHARS, RedactionPolicy, canonical_name


@pytest.mark.parametrize("name", ["Email", "EMAIL", "email", "e-mail", "E_Mail", " Email ", "E\u200bmail",
                                  "\u0415mail", "Ｅｍａｉｌ", "E\u200dm\u200ca\u2060il", "\u0395mail",
                                  "Emai\u217c"])
def test_spellings_of_a_protected_name_are_removed(name):
    assert RedactionPolicy().apply(name, "who@example.com")[0] == "remove"


def test_every_protected_annotation_is_removed_by_default_and_phc_prefix_too():
    policy = RedactionPolicy()
    for name in PROTECTED_ANNOTATIONS:
        assert policy.apply(name, "x")[0] == "remove", name
    assert policy.apply("PHCBaseAddress", "0x1")[0] == "remove"
    assert policy.apply("ProductName", "Firefox") == ("keep", "Firefox", "default")


def test_names_that_say_they_hold_secrets_are_removed_and_free_text_is_masked():
    policy = RedactionPolicy()
    for name in ("ApiToken", "db_password", "SESSION_COOKIE", "UserEmail", "Credentials"):
        assert policy.apply(name, "v")[0] == "remove", name
    assert policy.apply("Notes", "anything") == ("mask", MASKED, "free text")
    assert policy.apply("AbortMessage", "x")[0] == "mask"


def test_nested_json_loses_protected_keys_at_any_depth_and_strings_holding_json_too():
    policy = RedactionPolicy()
    value = {"a": {"b": [{"EMAIL": "deep@example.com", "keep": "/home/eve/file"}]}, "url": "https://x"}
    taken, new, _ = policy.apply("Extra", value)
    assert taken == "scrub"
    assert new == {"a": {"b": [{"keep": "/home/xxx/file"}]}}
    inner = json.dumps({"wrap": json.dumps({"Comments": "secret words", "ip": "192.168.0.7"})})
    taken, new, _ = policy.apply("Blob", inner)
    assert "secret words" not in new and "192.168.0.7" not in new


def test_huge_values_are_removed_whole():
    policy = RedactionPolicy()
    assert policy.apply("Big", "a" * (MAX_VALUE_CHARS + 1))[0] == "remove"
    assert policy.apply("Big", ["a" * 40_000, "b" * 40_000])[0] == "remove"
    assert policy.apply("Fine", "a" * 1000)[0] == "keep"
    deep: object = "x"
    for _ in range(500):
        deep = [deep]
    assert policy.apply("Deep", deep)[0] in ("remove", "scrub")


def test_addresses_and_names_in_values():
    policy = RedactionPolicy()
    text = ("mail a.b+c@mail.example.org from 172.16.254.1 via fe80::1ff:fe23:4567:890a, file "
            "C:\\Users\\Zoë\\doc.txt and \\\\buildhost\\share\\x and file://nas01/vol")
    out = policy.scrub_text(text)
    for gone in ("a.b+c@mail.example.org", "172.16.254.1", "fe80::1ff:fe23:4567:890a", "Zoë", "buildhost", "nas01"):
        assert gone not in out, gone
    # fullwidth @ and zero-width characters do not hide an address
    assert "evil" not in policy.scrub_text("ev\u200bil＠example.com")
    # C++ scopes and versions are not addresses; a version annotation keeps its dotted quad
    assert policy.scrub_text("mozilla::dom::Element::Foo") == "mozilla::dom::Element::Foo"
    assert policy.apply("Version", "1.2.3.4") == ("keep", "1.2.3.4", "default")


def test_rules_win_and_the_policy_round_trips_as_json():
    policy = RedactionPolicy()
    policy.set_rule("Email", "keep")
    policy.set_rule("ProductName", "mask")
    assert policy.apply("EMAIL", "a@b.co") == ("keep", "a@b.co", "rule")
    assert policy.apply("ProductName", "X")[0] == "mask"
    again = RedactionPolicy.from_json(json.loads(json.dumps(policy.to_json())))
    assert again == policy
    with pytest.raises(ValueError):
        RedactionPolicy.from_json({"rules": {"Email": "publish"}})
    with pytest.raises(ValueError):
        RedactionPolicy.from_json({"scrub_dumps": "yes"})
    with pytest.raises(ValueError):
        policy.set_rule("--", "keep")


def test_canonical_names():
    assert canonical_name("Ｕ\u200bＲ\u0406") == "uri"
    assert canonical_name("Tele-metry_Client Id") == "telemetryclientid"
