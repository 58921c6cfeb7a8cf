"""Distillation study: a small student alone vs. distilled from a larger trained teacher,
three seeds, on the embedded data (:mod:`rexnet_mm.analysis.distill_study`,
docs/distillation.md).

    python tools/analysis/distill_study.py --setting cls|det [--seeds 0 1 2]
        [--runs teacher alone distilled] [--set KEY=VALUE ...] [--work-dir DIR] [--table]

Finished runs are kept in ``<work-dir>/<setting>/results.json``; a later call trains only
what is missing (run it in pieces of a few minutes each).
"""
import argparse
import json
import os.path as osp
import sys

from ..errors import InvalidValueError, add_debug_flag, console, one_line_errors, prog
from ..analysis.distill_study import DEFAULTS, SETTINGS


def parse_set(items):
    out = {}
    for item in items or []:
        key, sep, value = item.partition('=')
        if not sep:
            raise InvalidValueError(f'--set {item!r}: expected KEY=VALUE')
        out[key] = value
    return out


@one_line_errors
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Student alone vs. distilled from a trained teacher, on the embedded '
                    'data (docs/distillation.md).')
    parser.add_argument('--setting', choices=sorted(SETTINGS), required=True)
    parser.add_argument('--work-dir', default='work_dirs/distill_study')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--runs', nargs='+', choices=('teacher', 'alone', 'distilled'),
                        default=['teacher', 'alone', 'distilled'])
    parser.add_argument('--set', nargs='*', metavar='KEY=VALUE',
                        help='change a study option (defaults: ' + '; '.join(
                            f'{s}: ' + ', '.join(f'{k}={v}' for k, v in d.items())
                            for s, d in DEFAULTS.items()) + ')')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--table', action='store_true',
                        help='print the table of the saved results made with these options '
                             '(defaults and --set) and train nothing')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    from ..analysis.distill_study import current, run_study, study_options, summary
    overrides = parse_set(args.set)
    opts = study_options(args.setting, overrides)
    if args.table:
        path = osp.join(args.work_dir, args.setting, 'results.json')
        results = json.load(open(path)) if osp.isfile(path) else {}
    else:
        results = run_study(args.setting, args.work_dir, tuple(args.seeds), tuple(args.runs),
                            overrides, args.threads)
    # only the runs made with these options (see --set)
    print(summary(current(results, args.setting, opts),
                  SETTINGS[args.setting]['metric_name']))
    return 0


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
