"""``crashdesk signature``: signatures for one crash or for JSON Lines, with a chosen profile.

    crashdesk signature crash.json                  # one JSON object: crash data, or {"stackwalk", "annotations"}
    crashdesk signature --json --explain - < crash.json
    crashdesk signature --batch cases.jsonl         # JSON Lines in and out, one output line per input line
    crashdesk signature --profile generic --batch -
    crashdesk signature --new-profile myapp --from mozilla   # editable copy in <data-dir>/profiles/myapp/
    crashdesk signature --list-profiles
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "signature",
        common_options=True,
        help="compute crash signatures (siggen-compatible) for one crash or JSON Lines",
        description="Compute the signature of one crash (a JSON object: siggen-style crash data, or "
        '{"stackwalk": <minidump-stackwalk --json>, "annotations": {...}}), or with --batch of JSON Lines '
        '({"id", "crash_data"} or {"id", "stackwalk", "annotations"}) into JSON Lines '
        '({"id", "signature", "proto_signature", "notes"}).',
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="input file (default: stdin)")
    parser.add_argument("--batch", action="store_true", help="JSON Lines in, JSON Lines out")
    parser.add_argument("--profile", metavar="P", default=None,
                        help="profile name (a folder under <data-dir>/profiles/, or built-in 'mozilla' / "
                        "'generic' / 'generic-v1') or a profile folder path (default: the same rule as processing: "
                        "the Settings product table, mozilla for Mozilla products and for siggen-style crash_data "
                        "without a product, else the default profile, generic)")
    parser.add_argument("--explain", action="store_true",
                        help="add an explanation (frames normalised, skipped by which list entry, combined, "
                        "where the walk stopped, which rule changed what)")
    parser.add_argument("--processes", type=int, default=1, metavar="N",
                        help="worker processes for --batch (0 = one per CPU; default 1)")
    parser.add_argument("--list-profiles", action="store_true", help="list the available profiles and exit")
    parser.add_argument("--new-profile", metavar="NAME",
                        help="create an editable profile <data-dir>/profiles/NAME from --from and exit")
    parser.add_argument("--from", dest="from_profile", choices=["mozilla", "generic"], default="mozilla",
                        help="what --new-profile copies (default: mozilla, i.e. siggen's list files)")
    parser.set_defaults(func=run)


def _profiles_dir(args):
    from crashdesk.config.paths import resolve_paths

    return resolve_paths(getattr(args, "data_dir", None)).profiles


def _open_input(path: str):
    from crashdesk.errors import CrashDeskError

    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise CrashDeskError(f"cannot read {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    from crashdesk.cli.common import Progress, info, print_json
    from crashdesk.engine.signature import (
        create_generic_profile,
        create_profile_from_mozilla,
        list_profiles,
        resolve_profile,
    )
    from crashdesk.errors import UsageError

    as_json = bool(getattr(args, "json", False))
    profiles_dir = _profiles_dir(args)
    # Crash data may hold lone surrogates ("\ud800" escapes in JSON); written with backslashreplace they come
    # out as the same JSON escape instead of aborting the output.
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="backslashreplace")
        except (ValueError, OSError):
            pass

    if args.list_profiles:
        names = list_profiles(profiles_dir)
        rows = []
        for name in names:
            try:
                p = resolve_profile(name, profiles_dir)
                rows.append({"name": name, "follows": p.follows, "source": p.source, "rules": list(p.rules)})
            except Exception as exc:  # a broken user profile is listed with its error
                rows.append({"name": name, "error": str(exc)})
        if as_json:
            print_json(rows)
        else:
            for row in rows:
                print(f"{row['name']}\t{row.get('follows') or 'ERROR: ' + row.get('error', '')}")
        return 0

    if args.new_profile:
        name = args.new_profile
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise UsageError(f"invalid profile name {name!r}")
        dest = profiles_dir / name
        make = create_profile_from_mozilla if args.from_profile == "mozilla" else create_generic_profile
        profile = make(dest, name)
        if as_json:
            print_json({"name": profile.name, "path": str(dest), "follows": profile.follows})
        else:
            info(f"created profile {profile.name!r} in {dest} ({profile.follows})")
            print(dest)
        return 0

    if args.processes < 0:
        raise UsageError("--processes must be 0 or more")
    if args.profile:
        profile = resolve_profile(args.profile, profiles_dir)
    else:
        from crashdesk.config.signature_profiles import load_choice
        from crashdesk.engine.signature.choice import ChoiceSpec

        profile = ChoiceSpec(load_choice(profiles_dir.parent), str(profiles_dir))
        profile.resolve_all()  # a bad table entry is a clear error before any input is read
    stream = _open_input(args.file)
    try:
        if args.batch:
            return _run_batch(stream, profile, args, Progress, info)
        return _run_one(stream, profile, args, as_json, print_json, info)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _run_batch(stream, profile, args, progress_cls, info) -> int:
    import json

    from crashdesk.engine.signature.batch import sign_json_lines

    bar = progress_cls("signatures")
    total = errors = 0
    out = sys.stdout
    try:
        for record in sign_json_lines(stream, profile, args.processes, explain=args.explain,
                                      progress=bar.advance):
            total += 1
            if "error" in record:
                errors += 1
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        bar.close()
        out.flush()
    if errors:
        info(f"crashdesk signature: {errors} of {total} line(s) could not be read (see their 'error' field)")
        return 1
    return 0


def _run_one(stream, profile, args, as_json, print_json, info) -> int:
    import json

    from crashdesk.engine.signature import SignatureGenerator
    from crashdesk.errors import CrashDeskError

    data = stream.read()
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CrashDeskError(f"{args.file}: not UTF-8 text ({exc.reason})") from None
    except (ValueError, RecursionError) as exc:
        raise CrashDeskError(f"{args.file}: not a JSON document: {exc}") from None
    if hasattr(profile, "build"):  # no --profile: the product -> profile rule picks it for this input
        from crashdesk.engine.signature import resolve_profile

        profile = resolve_profile(profile.choice.for_input(obj), profile.profiles_dir)
    try:
        result = SignatureGenerator(profile).generate_from(obj, explain=args.explain or as_json)
    except RecursionError:
        raise CrashDeskError(f"{args.file}: input nested too deeply") from None
    if as_json:
        print_json(result.to_dict(explain=True))
        return 0
    print(result.signature)
    info(f"profile: {profile.name} ({profile.follows})")
    if result.proto_signature:
        info(f"proto signature: {result.proto_signature}")
    for note in result.notes:
        info(f"note: {note}")
    for line in result.explanation:
        info(f"  {line}")
    return 0
