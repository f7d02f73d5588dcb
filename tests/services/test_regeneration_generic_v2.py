"""Switching a store's crashes from the generic profile v1 to v2 shows the merges and splits it causes, and the
store keeps working (apply, search, undo). Expected buckets come from the evaluation set's hand labels."""

from __future__ import annotations

import json
from pathlib import Path

from crashdesk.services.regeneration import apply_run, compute_run, undo_run

DATA = Path(__file__).resolve().parents[1] / "data" / "signatures-generic"


def _fill(store) -> dict[str, str]:
    """Every evaluation crash, processed; returns crash id -> label."""
    labels = {}
    for case in json.loads((DATA / "labels.json").read_text(encoding="utf-8"))["cases"]:
        doc = json.loads((DATA / "cases" / f"{case['id']}.json").read_text(encoding="utf-8"))
        crash_id = store.add_crash({"ProductName": "EvalApp", "Version": "1.0"}, source="import")
        store.save_processed(crash_id, doc)
        labels[crash_id] = case["label"]
    return labels


def test_generic_v1_to_v2_reports_splits_and_the_store_keeps_working(store):
    labels = _fill(store)
    v1 = compute_run(store, "generic-v1", processes=1)
    apply_run(store, v1)
    v1_sig = {cid: store.get(cid)["signature"] for cid in labels}
    assert all(store.get(cid)["signature_profile"] == "generic-v1" for cid in labels)

    run = compute_run(store, "generic", processes=1)
    report = run.report
    assert report.total == len(labels)
    new_sig = {cid: run.report.results[cid].signature if cid in run.report.results else v1_sig[cid]
               for cid in labels}
    # a v1 bucket that held crashes of k distinct labelled sites must split into k v2 buckets
    expected_splits = {}
    for old in set(v1_sig.values()):
        members = [cid for cid in labels if v1_sig[cid] == old]
        sites = {labels[cid] for cid in members}
        if len(sites) > 1:
            expected_splits[old] = len(sites)
    assert expected_splits  # v1 lumped distinct crash sites together (e.g. every glibc fortify failure)
    for old, k in expected_splits.items():
        assert len(report.splits.get(old, {})) == k, (old, report.splits.get(old))
    # no v2 bucket holds two labelled sites
    for new in set(new_sig.values()):
        assert len({labels[cid] for cid in labels if new_sig[cid] == new}) == 1
    summary = report.to_dict()
    assert summary["splits"] and summary["changed"] == report.changed > 0

    run_id = apply_run(store, run)
    assert {cid: store.get(cid)["signature"] for cid in labels} == new_sig
    assert all(store.get(cid)["signature_profile"] == "generic" for cid in labels if cid in run.report.results)
    assert undo_run(store, run_id) == report.changed
    assert {cid: store.get(cid)["signature"] for cid in labels} == v1_sig


def test_regenerate_without_a_profile_follows_the_product_rule(store, tmp_path):
    """``crashdesk regenerate`` without --profile signs each crash as processing would: Mozilla products with
    mozilla, products of the Settings table with their profile, the rest with generic."""
    from crashdesk.config.signature_profiles import save_choice
    from crashdesk.engine.signature import SignatureGenerator, generic_profile, mozilla_profile
    from crashdesk.engine.signature.choice import ProfileChoice

    doc = json.loads((DATA / "cases" / "c-assert.json").read_text(encoding="utf-8"))
    ids = {}
    for product in ("Firefox", "EvalApp", "Listed"):
        crash_id = store.add_crash({"ProductName": product}, source="import")
        store.save_processed(crash_id, doc)
        ids[product] = crash_id
    home = tmp_path / "home"
    save_choice(home, ProfileChoice((("Listed", "generic-v1"),), "generic"))
    run = compute_run(store, "auto", profiles_dir=home / "profiles", processes=2)
    got = {p: run.report.results[cid] for p, cid in ids.items()}
    assert {p: r.profile for p, r in got.items()} == {"Firefox": "mozilla", "EvalApp": "generic", "Listed": "generic-v1"}
    inp = {"stackwalk": doc, "annotations": {}}
    assert got["Firefox"].signature == SignatureGenerator(mozilla_profile()).generate_from(inp).signature
    assert got["EvalApp"].signature == SignatureGenerator(generic_profile()).generate_from(inp).signature
    apply_run(store, run)
    assert store.get(ids["Listed"])["signature_profile"] == "generic-v1"
    assert store.get(ids["EvalApp"])["signature_profile"] == "generic"


def test_module_paths_survive_storage_and_path_rules_apply_on_regeneration(store, tmp_path):
    """Processing stores module paths with the processed crash; the slim signature input keeps them, so a
    path rule gives the same result on regeneration as it would at processing time."""
    from crashdesk.engine.signature import (
        SignatureGenerator,
        create_generic_profile,
        generic_profile,
        load_profile,
    )
    from crashdesk.engine.signature.convert import MODULE_PATHS_KEY

    doc = json.loads((DATA / "cases" / "win-sentry-native.json").read_text(encoding="utf-8"))
    assert doc[MODULE_PATHS_KEY]["sentry_example.exe"].endswith("sentry_example.exe")
    crash_id = store.add_crash({"ProductName": "SentryExample"}, source="import")
    store.save_processed(crash_id, doc)
    profiles = tmp_path / "home" / "profiles"
    create_generic_profile(profiles / "vendor")
    rules = profiles / "vendor" / "module_rules.txt"
    rules.write_text("-app d:\\sentry\\*\n" + rules.read_text(), encoding="utf-8")
    expected = SignatureGenerator(load_profile(profiles / "vendor")).generate_from(
        {"stackwalk": doc, "annotations": {}}).signature
    builtin = SignatureGenerator(generic_profile()).generate_from({"stackwalk": doc, "annotations": {}}).signature
    assert builtin == "vcruntime140d.dll | sentry_example.exe@0x17fc"
    assert expected != builtin  # the path rule made the example's own module a system one
    run = compute_run(store, "vendor", profiles_dir=profiles, processes=1)
    assert run.report.results[crash_id].signature == expected
