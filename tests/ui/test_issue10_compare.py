"""Side-by-side comparison view over a real store (reference processed JSON from tests/data): two crashes,
two signatures, and a crash's stored signature against a regenerated one with its notes."""

from __future__ import annotations

import pytest


@pytest.fixture
def view(qtbot, store, cases, tmp_path):
    from crashdesk.ui.jobs import Jobs
    from crashdesk.ui.views.compare import CompareView

    jobs = Jobs()
    v = CompareView(store, jobs, profiles_dir=tmp_path / "profiles")
    qtbot.addWidget(v)
    v.resize(1200, 700)
    v.show()
    yield v
    jobs.cancel_all()
    jobs.wait()


def _case(cases, name):
    return next(c for c in cases if c.name == name)


def _frames(case):
    p = case.processed
    return p["threads"][p["crash_info"]["crashing_thread"]]["frames"]


def test_two_crashes_aligned_with_differences_marked(qtbot, view, cases):
    from crashdesk.ui.views.compare import CHANGED, LEFT_ONLY, RIGHT_ONLY

    a, b = _case(cases, "01-null-deref"), _case(cases, "02-write-rodata")
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.compare_crashes(a.crash_id, b.crash_id)
    cmp = view.comparison
    assert view.frames.rowCount() == len(cmp.frames)
    # every frame of each side appears once, in order
    left = [view.frames.item(r, 2).text() for r in range(view.frames.rowCount()) if view.frames.item(r, 0).text()]
    assert left == [f.get("function") or "" for f in _frames(a)]
    right = [view.frames.item(r, 9).text() for r in range(view.frames.rowCount()) if view.frames.item(r, 7).text()]
    assert right == [f.get("function") or "" for f in _frames(b)]
    # "main" and the libc start frames are common to both stacks: shown as one row each
    funcs_a = {f.get("function") for f in _frames(a)}
    common = funcs_a & {f.get("function") for f in _frames(b)}
    assert "main" in common
    paired = [r for r in range(view.frames.rowCount())
              if view.frames.item(r, 2).text() == view.frames.item(r, 9).text() == "main"]
    assert len(paired) == 1
    colours = {view.frames.item(r, c).background().color().name()
               for r in range(view.frames.rowCount()) for c in range(13)}
    assert CHANGED.name() in colours or LEFT_ONLY.name() in colours or RIGHT_ONLY.name() in colours
    # the signature frame is bold, in the role column
    sig_rows = [r for r in range(view.frames.rowCount()) if view.frames.item(r, 5).text() == "in signature"]
    assert sig_rows and view.frames.item(sig_rows[0], 2).text() == cmp.left_signature
    assert view.frames.item(sig_rows[0], 2).font().bold()
    assert a.crash_id in view.left_label.text() and b.crash_id in view.right_label.text()


def test_skipped_frames_are_marked(qtbot, view, cases):
    # 03-abort's signature skips the abort machinery frames (irrelevant list) above viewer_fatal
    a, b = _case(cases, "03-abort"), _case(cases, "07-cxx-terminate")
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.compare_crashes(a.crash_id, b.crash_id)
    roles = {view.frames.item(r, 2).text(): view.frames.item(r, 5).text() for r in range(view.frames.rowCount())
             if view.frames.item(r, 0).text()}
    top = _frames(a)[0]["function"]
    assert roles[top] == "skipped"
    assert view.frames.item(0, 2).font().italic()


def test_two_signatures_compare_representative_crashes(qtbot, view, cases, store):
    a, b = _case(cases, "01-null-deref"), _case(cases, "05-thread")
    sa, sb = store.get(a.crash_id)["signature"], store.get(b.crash_id)["signature"]
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.compare_signatures(sa, sb)
    assert {view.comparison.left_id, view.comparison.right_id} == {a.crash_id, b.crash_id}
    assert view.comparison.left_signature == sa


def test_unknown_signature_fails_politely(qtbot, view, cases):
    with qtbot.waitSignal(view.failed, timeout=10000) as blocker:
        view.compare_signatures("no such signature", "nor this one")
    assert "no processed crash" in blocker.args[0]


def test_stored_vs_regenerated_with_notes(qtbot, view, cases, store):
    a = _case(cases, "03-abort")
    with qtbot.waitSignal(view.loaded, timeout=10000) as blocker:
        view.explain(a.crash_id, "mozilla")
    assert blocker.args == ["explanation"]
    exp = view.explanation
    assert exp.stored == store.get(a.crash_id)["signature"]
    assert exp.regenerated.signature == exp.stored  # same profile the store used
    # one row per considered frame; the abort frames were skipped by an irrelevant-list entry, with its line
    rows = [[view.notes.item(r, c).text() for c in range(6)] for r in range(view.notes.rowCount())]
    assert rows[0][2] == _frames(a)[0]["function"]
    assert rows[0][4] == "skipped: irrelevant" and "irrelevant_signature_re.txt:" in rows[0][5]
    assert any(r[4].startswith("kept") and r[3] == exp.regenerated.signature for r in rows)
    text = view.notes_text.toPlainText()
    assert "Stored:" in text and "Regenerated with mozilla" in text and "Steps:" in text
    assert view.tabs.currentIndex() == 3
    # the crash's signature history: what the store recorded when it signed it
    history = store.get(a.crash_id)["signature_history"]
    assert history and "Signature history" in text
    assert f"{history[-1]['profile']}: {history[-1]['signature']}  (current)" in text
