"""``ppexp reset``: start an experiment clean -- archive the old outputs, stop resuming, canonical labels.

Exit codes: 0 done (or nothing to do), 1 refused / validator errors / restore conflicts, 2 usage error.
"""
import argparse
import os
import sys

HELP = "reset an experiment to a clean state (archive outputs, no resume, canonical labels, env.json)"
EPILOG = """examples:
  ppexp reset -c configs/rec/exp9.yml --dry-run       # print the plan only
  ppexp reset -c configs/rec/exp9.yml --yes           # archive outputs, write exp9.reset.yml, fix labels
  ppexp reset -c configs/rec/exp9.yml --keep-best --in-place
  ppexp reset -c configs/rec/exp9.yml --labels-from clean_labels.csv
  ppexp reset --restore output/rec/_archive/exp9-20250101-120000

Never touched: images, anything under a Train/Eval data_dir except the label files,
anything outside save_model_dir (symlinks are not followed)."""


def add_parser(subparsers):
    p = subparsers.add_parser("reset", help=HELP, description=HELP, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-c", "--config", help="the experiment's config YAML")
    p.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    p.add_argument("--purge", action="store_true", help="delete the previous outputs instead of archiving them")
    p.add_argument("--keep-best", action="store_true", help="keep best_accuracy.* and best_model/ in place")
    p.add_argument("--labels-from", metavar="MANIFEST",
                   help="regenerate the label files from a manifest (CSV/TSV/JSONL: file, image, label)")
    p.add_argument("--in-place", action="store_true",
                   help="edit the config itself (backup in the archive) instead of writing <config>.reset.yml")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--restore", metavar="ARCHIVE", help="undo a reset from its archive folder")
    p.set_defaults(func=run)
    return p


def _rel(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


GROUP_TITLES = [("outputs", "Previous run's outputs"), ("caches", "ppexp caches"), ("config", "Config"),
                ("labels", "Label files"), ("env", "Environment record")]


def _grouped(actions):
    """Checkpoint sets on one line: latest.{pdopt,pdparams,states}; folders end in '/'."""
    rows, index = [], {}
    for a in actions:
        shown = _rel(a.path)
        if os.path.isdir(a.path) and not os.path.islink(a.path):
            n = sum(len(files) for _, _, files in os.walk(a.path))
            shown += f"/  ({n} file{'s' if n != 1 else ''})"
        stem, ext = os.path.splitext(shown)
        key = (a.kind, stem, a.reason)
        if ext in (".pdparams", ".pdopt", ".states") and key in index:
            index[key][1].append(ext[1:])
            continue
        row = [a.kind, [ext[1:]] if ext in (".pdparams", ".pdopt", ".states") else None, shown, stem, a.reason]
        index[key] = row
        rows.append(row)
    for kind, exts, shown, stem, reason in rows:
        yield kind, (f"{stem}.{{{','.join(exts)}}}" if exts and len(exts) > 1 else shown), reason


def print_plan(plan, out=None):
    out = out or sys.stdout
    g = plan.guard
    print(f"ppexp reset -c {plan.config_path}", file=out)
    print(f"  save_model_dir: {_rel(g.save_dir)}", file=out)
    if plan.archive_dir:
        print(f"  archive:        {_rel(plan.archive_dir)}", file=out)
    for group, title in GROUP_TITLES:
        acts = plan.by_group(group)
        if acts:
            print(f"{title}:", file=out)
            for kind, shown, reason in _grouped(acts):
                print(f"  {kind:8s}{shown}\n  {'':8s}  why: {reason}", file=out)
    for title, items in (("Kept", plan.kept), ("Refused (safety rule)", plan.refused), ("Left alone", plan.left)):
        if items:
            print(f"{title}:", file=out)
            for path, why in items:
                print(f"  {_rel(path)}: {why}", file=out)
    for w in plan.warnings:
        print(f"warning: {w}", file=out)
    if not plan.actions and not plan.fatal:
        extra = f" (but {len(plan.refused)} refused path(s) above need a look)" if plan.refused else ""
        print(f"Nothing to do: the experiment is already clean{extra}.", file=out)


def _confirm(args):
    if args.yes or not sys.stdin.isatty():
        return True
    answer = input("Proceed? [y/N] ").strip().lower()
    return answer in ("y", "yes")


def _validate(config_path):
    """Run the label validator (check-labels, no image decoding) on the config's label files."""
    from ppexp.experiments.labels import UsageError, run_check
    from ppexp.experiments.labels.report import verdict
    from ppexp.experiments.labels.settings import settings_from_config

    try:
        result = run_check(settings_from_config(config_path, images=False, progress=False, max_examples=5))
    except UsageError as err:
        print(f"label validator: {err}")
        return 1
    rep = result.report
    print(f"label validator (ppexp check-labels, images not decoded): {rep.n_errors} error(s), "
          f"{rep.n_warnings} warning(s); {verdict(rep)}")
    for f in [f for f in rep.findings() if f["severity"] == "error"][:10]:
        print(f"  {f['category']}: {f.get('file')}:{f.get('line')}: {f['message']}")
    if rep.n_errors:
        print(f"  run `ppexp check-labels -c {config_path}` for the full report (and --fix to drop bad lines)")
    return 1 if rep.n_errors else 0


def _restore(args):
    from ppexp.experiments.reset import restore_archive

    print(f"ppexp reset --restore {args.restore}{' (dry run)' if args.dry_run else ''}")
    conflicts = restore_archive(args.restore, dry_run=args.dry_run)
    if conflicts:
        print(f"{conflicts} entr{'y' if conflicts == 1 else 'ies'} not restored (see above); the archive keeps them")
        return 1
    print("dry run: nothing changed" if args.dry_run else "restored; the archive is gone")
    return 0


def run(args):
    from ppexp.errors import UsageError
    from ppexp.experiments.reset import ResetOptions, build_plan, execute_plan

    if args.restore:
        return _restore(args)
    if not args.config:
        raise UsageError("-c CONFIG is required (or --restore ARCHIVE)")
    opts = ResetOptions(dry_run=args.dry_run, purge=args.purge, keep_best=args.keep_best,
                        labels_from=args.labels_from, in_place=args.in_place)
    plan = build_plan(args.config, opts)
    print_plan(plan)
    if plan.fatal:
        for reason in plan.fatal:
            print(f"ppexp reset: refused: {reason}", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run: nothing changed")
        return 0
    if plan.actions:
        if not _confirm(args):
            print("aborted: nothing changed")
            return 1
        archive = execute_plan(plan)   # a SafetyError stops it: "ppexp reset: error: ..." (exit 1)
        counts = {}
        for a in plan.actions:
            counts[a.kind] = counts.get(a.kind, 0) + 1
        print("done: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        if archive:
            print(f"archived in {_rel(archive)}  (undo: ppexp reset --restore {_rel(archive)})")
    status = _validate(plan.train_config)
    if plan.train_config != os.path.abspath(args.config):
        print(f"train with: ppexp train -c {_rel(plan.train_config)}")
    return status
