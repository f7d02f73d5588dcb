"""Screenshots of the Top crashers tab and the versions side-by-side window (issue 25).

The demo store of ``scripts/screenshots.py`` has a handful of crashes on one day, too few for ranks and
movement, so this script builds its own: a generated store (seeded, relative to now) of a product with two
versions over three weeks (signature weights shifting between the versions, a new signature bursting on the
last day, start-up crashes, install times, three platforms). Run alone or from ``scripts/screenshots.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIGNATURES = [  # (signature, weight in 1.4.2, weight in 1.5.0)
    ("decode_frame | codec::Decoder::submit", 30, 22),
    ("OOM | small", 22, 24),
    ("__assert_fail | settings::load_profile", 14, 4),
    ("memmove | net::Buffer::append", 10, 16),
    ("tile_blit", 8, 8),
    ("abort | plugin::Host::unload", 7, 2),
    ("__cxa_throw | sync::Session::resume", 5, 9),
    ("page_measure_width", 4, 5),
    ("table_lookup_symbol", 3, 2),
    ("shutdownhang | io::Worker::join", 2, 6),
    ("font::Cache::evict", 2, 0),
]
NEW_IN_150 = "render::Compositor::present_frame"
PLATFORMS = [("Windows NT", 6), ("Linux", 3), ("Mac OS X", 2)]


def build_store(folder: Path, seed: int = 25):
    from crashdesk.model.crash_id import new_crash_id
    from crashdesk.store import CrashStore
    from crashdesk.store.crashes import NewCrash, SignatureRecord

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    crashes = []

    def add(sig, version, when):
        ann = {"ProductName": "CrashFactoryDemo", "Version": version,
               "os": rng.choices([p for p, _ in PLATFORMS], [w for _, w in PLATFORMS])[0],
               "InstallTime": str(1_760_000_000 + 86400 * rng.randrange(40)),
               "UptimeTS": str(rng.choice([4, 12, 45]) if rng.random() < 0.2 else rng.randrange(60, 20000))}
        crashes.append(NewCrash(ann, source="server:crash-stats", crash_id=new_crash_id(),
                                submitted_at=when.isoformat(timespec="microseconds"),
                                signature=SignatureRecord(sig, profile="generic")))

    for _ in range(900):
        age = dt.timedelta(seconds=rng.randrange(60, 21 * 86400))
        # 1.5.0 shipped 10 days ago and takes most crashes since
        version = "1.5.0" if age < dt.timedelta(days=10) and rng.random() < 0.8 else "1.4.2"
        weights = [w142 if version == "1.4.2" else w150 for _s, w142, w150 in SIGNATURES]
        sig = rng.choices([s for s, *_ in SIGNATURES], weights)[0]
        add(sig, version, now - age)
    for _ in range(26):  # a new signature, most of it in the last day
        hours = rng.randrange(1, 24) if rng.random() < 0.7 else rng.randrange(24, 96)
        add(NEW_IN_150, "1.5.0", now - dt.timedelta(hours=hours, minutes=rng.randrange(60)))
    for _ in range(22):  # an old signature spiking in the last day
        add("memmove | net::Buffer::append", "1.5.0", now - dt.timedelta(minutes=rng.randrange(5, 1400)))
    store = CrashStore.open(folder)
    store.add_many(crashes)
    return store


def render(app, window, grab, wait_until) -> None:
    """With a MainWindow over a store made by :func:`build_store`: the tab, then the comparison window."""
    from crashdesk.ui.decision_views import TAB_TITLES

    dv = window.decision
    tc = dv.topcrashers
    loaded = []
    tc.loaded.connect(lambda: loaded.append(1))
    dv.show_tab(TAB_TITLES.index("Top crashers"))
    wait_until(lambda: bool(loaded), 30)
    tc.select_signature(NEW_IN_150)
    grab(window, "topcrashers")
    vw = dv.open_versions("CrashFactoryDemo", "1.4.2", "1.5.0")
    wait_until(lambda: vw.comparison is not None, 30)
    vw.resize(1200, 820)
    grab(vw, "versions-side-by-side")
    vw.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from _screens import Screens

    from crashdesk.ui.collector_link import CollectorState
    from crashdesk.ui.mainwindow import MainWindow
    from crashdesk.ui.qt import QSettings

    screens = Screens(args.out)
    work = Path(tempfile.mkdtemp(prefix="crashdesk-shots-tc-"))
    store = build_store(work / "data")

    def grab(widget, name: str) -> None:
        print(screens.grab(widget, name))

    window = MainWindow(store, settings=QSettings(str(work / "ui.ini"), QSettings.Format.IniFormat),
                        collector=CollectorState("http://127.0.0.1:8765/submit", "demo"))
    window.resize(1400, 820)
    window.show()
    screens.wait_until(lambda: window.model.rowCount() > 0, 30)
    render(screens.app, window, grab, screens.wait_until)
    window.close()
    window.jobs.wait()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
