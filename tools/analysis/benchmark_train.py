#!/usr/bin/env python
"""Training speed and memory against the peers, in one run, ratios printed.

    .venv/bin/python tools/analysis/benchmark_train.py [--families ssdlite faster-rcnn
        segmentation] [--repeats 5] [--threads 2] [--device cpu|cuda] [--no-memory]
        [--batch-size N] [--size PX]

For SSDLite, Faster R-CNN FPN and Semantic FPN: ours (the shipped config) vs
``mmpretrain.TIMMBackbone`` around timm's rexnet_100 at the same taps (NCHW and
channels-last input) vs the toolbox's own backbone (mmdet's SSDLite-MobileNetV2, Faster
R-CNN RegNetX-3.2GF and ResNet-50, mmseg's Semantic FPN ResNet-50): median training-step
time (loss, backward, SGD step) of round-robin repeats, images/s, and peak memory of each
in a fresh process (docs/why.md). ``--profile NAME``: where one variant's step goes.
"""
import argparse

from rexnet_mm.analysis.benchmark_train import (FAMILIES, SETTINGS, format_tables,
                                                 profile_step, run)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--families', nargs='+', choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--no-memory', action='store_true',
                        help='skip the peak-memory processes')
    parser.add_argument('--batch-size', type=int, help='every family (default: ' + ', '.join(
        f'{k} {v[0]}' for k, v in SETTINGS.items()) + ')')
    parser.add_argument('--size', type=int, help='input size of every family (default: ' +
                        ', '.join(f'{k} {v[1]}' for k, v in SETTINGS.items()) + ')')
    parser.add_argument('--profile', metavar='NAME',
                        help='instead of the table: where the training step of the variant '
                             'whose name contains NAME spends its time (forward, backward, '
                             'optimizer; top operators), e.g. --profile "ReXNet-1.0, shipped"')
    args = parser.parse_args(argv)
    settings = {f: (args.batch_size or SETTINGS[f][0], args.size or SETTINGS[f][1])
                for f in args.families}
    if args.profile:
        for family in args.families:
            print(profile_step(family, args.profile, threads=args.threads, settings=settings))
        return 0
    result = run(args.families, args.repeats, args.threads, args.device,
                 not args.no_memory, settings)
    print(format_tables(result))
    return 0


if __name__ == '__main__':
    main()
