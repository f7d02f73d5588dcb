"""Pausing automatic garbage collection: pauses nest and overlap, and the state before the first comes back."""

from __future__ import annotations

import gc
import threading

import pytest

from crashdesk import gc_pause


@pytest.fixture(autouse=True)
def _restore_gc():
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_nested_pauses_restore_collection_after_the_last():
    gc.enable()
    with gc_pause.paused():
        assert not gc.isenabled()
        with gc_pause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_pause_keeps_collection_off_when_it_was_off():
    gc.disable()
    with gc_pause.paused():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_on_threads_end_with_the_last():
    gc.enable()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with gc_pause.paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with gc_pause.paused():
            second_in.set()
            first_out.wait(10)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"after the first ended": False}
    assert gc.isenabled()


def test_release_without_hold_is_an_error():
    with pytest.raises(RuntimeError):
        gc_pause.release()
