"""``ppexp doctor [-c cfg.yml]``: check the environment (and a config) before a long run.

Exit codes: 0 no errors (warnings allowed), 1 at least one error.
"""
import argparse

HELP = "check paddle, devices, CPU threads, libgomp, visualdl, fonts, disk and (with -c) the config"
EPILOG = """examples:
  ppexp doctor
  ppexp doctor -c configs/rec/exp9.yml
  ppexp doctor -c configs/rec/exp9.yml --env output/rec/_archive/exp8-20250101-120000/outputs/env.json"""


def add_parser(subparsers):
    p = subparsers.add_parser("doctor", help=HELP, description=HELP, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-c", "--config", help="also check this config (files, dictionary, schedule, resume)")
    p.add_argument("-o", "--opt", action="append", nargs="+", default=[], metavar="KEY=VALUE",
                   help="config overrides, as for ppexp train")
    p.add_argument("--env", metavar="ENV.json",
                   help="compare the present with this env.json (default: <save_model_dir>/env.json)")
    p.set_defaults(func=run)
    return p


def run(args):
    from ppexp.commands.common import flat_overrides
    from ppexp.experiments.reset.doctor import exit_code, format_checks, run_doctor

    checks = run_doctor(args.config, flat_overrides(args.opt), args.env)
    print("ppexp doctor" + (f" -c {args.config}" if args.config else ""))
    print(format_checks(checks))
    return exit_code(checks)
