#!/usr/bin/env python
"""Where a model's CPU time goes, per operator: eager PyTorch (torch.profiler) or, with
--onnx / --openvino, its exported graph under ONNX Runtime / OpenVINO (BN folded, as
tools/deploy.py exports).

    .venv/bin/python tools/analysis/profile_ops.py CONFIG [--onnx | --openvino] [--fused]
        [--shape H W] [--batch 1] [--runs 10] [--threads 2] [--rows 15]

Random weights, a generated image; prints ms per run and calls (nodes) per operator.
"""
import argparse

from rexnet_mm.analysis.profile import profile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--onnx', action='store_true', help='profile under ONNX Runtime')
    parser.add_argument('--openvino', action='store_true', help='profile under OpenVINO')
    parser.add_argument('--fused', action='store_true', help='eager with BN folded')
    parser.add_argument('--batch', type=int, default=1,
                        help='images per run (classifiers, segmentors)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'))
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--rows', type=int, default=15)
    args = parser.parse_args(argv)
    rows, shape = profile(args.config, args.shape, args.runs, args.threads, args.onnx,
                          args.fused, args.batch, args.openvino)
    total = sum(r[1] for r in rows)
    where = 'OpenVINO' if args.openvino else 'ONNX Runtime' if args.onnx else \
        'eager' + (' fused' if args.fused else '')
    graph = args.onnx or args.openvino
    print(f'{where}, batch {args.batch}, {shape[0]}x{shape[1]}, {args.threads} threads, '
          f'{args.runs} runs: {total:.1f} ms per run in operators')
    op = 'OpenVINO node:kernel' if args.openvino else 'ONNX op' if args.onnx else 'ATen op'
    print(f"| {op} | ms per run | share | "
          f"{'nodes' if graph else 'calls per run'} |\n|---|---|---|---|")
    for op, ms, n in rows[:args.rows]:
        print(f'| {op} | {ms:.2f} | {100 * ms / total:.0f}% | {n:g} |')
    return rows


if __name__ == '__main__':
    main()
