"""Screenshots of the generic-signature views (issue 18), called by ``scripts/screenshots.py`` with its window
over the demo store: the workbench's Modules tab of a profile copied from ``generic`` (one user rule added
above the built-in ones) and the Settings page with the product -> profile table (one demo row)."""

from __future__ import annotations

from typing import Any


def render(app: Any, window: Any, grab: Any, wait_until: Any) -> None:
    from crashdesk.ui.decision_views import TAB_TITLES

    dv = window.decision
    dv.show_tab(TAB_TITLES.index("Regeneration"))
    bench = dv.workbench
    loaded: list[str] = []
    bench.profile_loaded.connect(loaded.append)
    bench.create_profile("myapp", "generic")
    wait_until(lambda: "myapp" in loaded, 20)
    editor = bench.editors["module_rules.txt"]
    bench.list_tabs.setCurrentWidget(editor)
    editor.setPlainText("# ours: the vendor's GL driver is not our code, our plugins folder is\n"
                        "-app libvendorgl*.so\n+app /usr/lib/myapp/plugins/*\n\n" + editor.toPlainText())
    editor.validate()
    grab(window, "workbench-module-rules")
    dlg = dv.open_settings()
    dlg.tabs.setCurrentIndex(dlg.tabs.count() - 1)
    dlg.add_product_profile("MyApp", "myapp")
    for _ in range(5):
        app.processEvents()
    grab(dlg, "settings-product-profiles")
    dlg.reject()
