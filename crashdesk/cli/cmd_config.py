"""``crashdesk config``: show or set the symbol folders and servers the app's Settings hold, which
``process`` and ``collector`` use after their own flags (``stackwalk`` uses only what it is given).

``crashdesk config`` shows them; ``--symbols-path DIR`` / ``--symbols-url URL`` (repeatable) replace the lists,
``--add-symbols-path`` / ``--add-symbols-url`` append, ``--remove-symbols-path`` / ``--remove-symbols-url``
remove one, ``--mozilla-symbols on|off`` sets the Mozilla-products checkbox. Stored in the data folder
(:mod:`crashdesk.config.symbol_sources`); the app picks the change up at its next start.
"""

from __future__ import annotations

import argparse
import dataclasses


def register(sub) -> None:
    p = sub.add_parser("config", common_options=True, help="show or set the symbol folders and servers of Settings",
                       description="Show or set the symbol folders and servers the app's Settings hold; "
                                   "process and collector use them after their own --symbols-path/--symbols-url.")
    for kind, meta in (("path", "DIR"), ("url", "URL")):
        p.add_argument(f"--symbols-{kind}", action="append", metavar=meta, dest=f"set_{kind}",
                       help=f"replace the symbol {kind}s with these (repeatable)")
        p.add_argument(f"--add-symbols-{kind}", action="append", default=[], metavar=meta, dest=f"add_{kind}",
                       help=f"append a symbol {kind} (repeatable)")
        p.add_argument(f"--remove-symbols-{kind}", action="append", default=[], metavar=meta,
                       dest=f"remove_{kind}", help=f"remove a symbol {kind} (repeatable)")
    p.add_argument("--mozilla-symbols", choices=("on", "off"),
                   help="also ask Mozilla's symbol server for Mozilla products")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from crashdesk.cli.common import paths_from, print_json
    from crashdesk.config.symbol_sources import SymbolSources, load, save, settings_file
    from crashdesk.errors import UsageError

    changing = any((args.set_path, args.set_url, args.add_path, args.add_url, args.remove_path, args.remove_url,
                    args.mozilla_symbols))
    paths = paths_from(args, write=changing)
    current = load(paths.data_dir) or SymbolSources()
    if changing:
        for url in [*(args.set_url or []), *args.add_url]:
            if not url.startswith(("http://", "https://")):
                raise UsageError(f"not a symbol server URL (http:// or https://): {url}")
        folders = list(args.set_path) if args.set_path is not None else list(current.paths)
        urls = list(args.set_url) if args.set_url is not None else list(current.urls)
        folders = [*folders, *(str(Path(p).expanduser().resolve()) for p in args.add_path)]
        urls = [*urls, *args.add_url]
        for gone, items, what in ((args.remove_path, folders, "folder"), (args.remove_url, urls, "server")):
            for item in gone:
                resolved = str(Path(item).expanduser().resolve()) if what == "folder" else item
                match = item if item in items else resolved
                if match not in items:
                    raise UsageError(f"no symbol {what} {item} in the settings")
                items.remove(match)
        mozilla = current.mozilla_for_mozilla_products if args.mozilla_symbols is None else \
            args.mozilla_symbols == "on"
        current = dataclasses.replace(current, paths=list(dict.fromkeys(folders)), urls=list(dict.fromkeys(urls)),
                                      mozilla_for_mozilla_products=mozilla)
        save(paths.data_dir, current)
    if getattr(args, "json", False):
        print_json({**current.to_json(), "file": str(settings_file(paths.data_dir))})
        return 0
    print(f"symbol folders ({len(current.paths)}):")
    for folder in current.paths:
        print(f"  {folder}")
    print(f"symbol servers ({len(current.urls)}):")
    for url in current.urls:
        print(f"  {url}")
    print(f"debuginfod servers ({len(current.debuginfod)}; set in the app's Settings):")
    for url in current.debuginfod:
        print(f"  {url}")
    print(f"Mozilla's symbol server for Mozilla products: {'on' if current.mozilla_for_mozilla_products else 'off'}")
    return 0
