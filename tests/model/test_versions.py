from crashdesk.model.crash_id import is_crash_id, new_crash_id, normalize_crash_id
from crashdesk.model.versions import version_key


def test_versions_sort_as_versions_not_text():
    versions = ["120.0.1", "99.0", "9.0", "99.0b3", "99.0.1", "120.0", "100.0a1", "99.0a1"]
    assert sorted(versions, key=version_key) == [
        "9.0", "99.0a1", "99.0b3", "99.0", "99.0.1", "100.0a1", "120.0", "120.0.1"]
    assert version_key("120.0.1") > version_key("99.0")


def test_crash_ids_follow_antenna_format():
    crash_id = new_crash_id()
    assert is_crash_id(crash_id) and crash_id[-7] == "0"
    assert normalize_crash_id("bp-" + crash_id.upper()) == crash_id
