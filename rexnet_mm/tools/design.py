"""Budgeted design of ReXNet / RegNet configurations (``tools/analysis/design.py``):
the nearest to a FLOPs (and params) budget (:mod:`rexnet_mm.analysis.design`), or the one
with the most FLOPs within a latency measured on a runtime
(:mod:`rexnet_mm.analysis.latency`).

    python tools/analysis/design.py rexnet --flops 0.6G [--params 6M] [--top 5]
    python tools/analysis/design.py rexnet --latency-ms 30 --runtime torch|ort|openvino
        [--batch 1] [--threads 2] [--measure 24] [--plot front.png]
"""
import argparse

from ..analysis.design import (format_rows, parse_amount, regnet_candidates,
                               rexnet_candidates)
from ..errors import InvalidValueError
from . import add_debug_flag, console, one_line_errors, prog


@one_line_errors
def main(argv=None, timer=None):
    """``timer``: see :func:`rexnet_mm.analysis.latency.latency_design` (tests pass a
    table)."""
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Nearest ReXNet / RegNet configurations to a FLOPs (and params) budget, '
                    'or the one with most FLOPs within a measured-latency budget.')
    parser.add_argument('family', choices=('rexnet', 'regnet', 'regnetx', 'regnety'))
    parser.add_argument('--flops', help='multiply-adds at 224x224, e.g. 0.6G (with '
                                        '--latency-ms: an upper bound, optional)')
    parser.add_argument('--params', help='parameters, e.g. 6M (optional; with '
                                         '--latency-ms: an upper bound)')
    parser.add_argument('--arch', nargs='+', choices=('v1', 'lite'), default=['v1', 'lite'],
                        help='ReXNet variants searched (default both)')
    parser.add_argument('--top', type=int, default=5)
    parser.add_argument('--samples', type=int, default=20000,
                        help='RegNet design-space samples (default 20000)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--tolerance', type=float, default=0.05,
                        help='published models within this fraction of the budget are '
                             'listed first (default 0.05)')
    latency = parser.add_argument_group('latency budget (docs/design.md, "Latency budgets")')
    latency.add_argument('--latency-ms', type=float,
                         help='measured latency of one batch on --runtime, in ms')
    latency.add_argument('--runtime', choices=('torch', 'ort', 'openvino'),
                         help='eager PyTorch, ONNX Runtime or OpenVINO (CPU)')
    latency.add_argument('--batch', type=int, default=1)
    latency.add_argument('--threads', type=int, default=2)
    latency.add_argument('--measure', type=int, default=24,
                         help='candidates to time (cached; default 24)')
    latency.add_argument('--repeats', type=int, default=20,
                         help='round-robin timing repeats, median (default 20)')
    latency.add_argument('--plot', help='PNG of measured latency vs FLOPs')
    latency.add_argument('--force', action='store_true', help='overwrite --plot')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    try:
        flops = parse_amount(args.flops) if args.flops else None
        params = parse_amount(args.params) if args.params else None
    except ValueError as e:
        parser.error(str(e))
    if args.latency_ms is not None or args.runtime or args.plot:
        return _latency_main(args, flops, params, timer)
    if flops is None:
        parser.error('give a budget: --flops (e.g. 0.6G), or --latency-ms with --runtime')
    if args.family == 'rexnet':
        print(format_rows(rexnet_candidates(flops, params, tuple(args.arch), top=args.top,
                                            tolerance=args.tolerance)))
        return 0
    for se in {'regnetx': (False,), 'regnety': (True,)}.get(args.family, (False, True)):
        print(format_rows(regnet_candidates(flops, params, se, args.samples, args.seed,
                                            args.top, tolerance=args.tolerance)))
    return 0


def _latency_main(args, flops, params, timer):
    from ..analysis.latency import check_plot_path, format_latency, latency_design, plot_latency
    if args.latency_ms is None or not args.runtime:
        raise InvalidValueError('a latency budget needs both --latency-ms (e.g. 30) and '
                                '--runtime (torch, ort or openvino)')
    check_plot_path(args.plot, args.force)
    res = latency_design(args.family, args.latency_ms, args.runtime, args.batch,
                         args.threads, args.measure, flops, params, args.samples, args.seed,
                         args.tolerance, args.repeats, timer=timer, bar=timer is None,
                         archs=tuple(args.arch))
    print(format_latency(res))
    if args.plot:
        plot_latency(res, args.plot)
        print(f'plot: {args.plot}')
    return 0


cli = console(main)
