#!/usr/bin/env python
"""CPU inference latency of our backbones as ratios against peers measured in the same run.

    .venv/bin/python tools/analysis/benchmark_speed.py [--size 224] [--repeats 20] [--threads 2]

Peers: timm's implementation of the same network (ratio ~1.0 means our OpenMMLab
modules add no overhead) and mmdet's MobileNetV2 (the usual light backbone). Absolute
times depend on the machine and its load; the ratios are what to compare.
"""
import argparse
import time

import torch

from rexnet_mm.utils import progress_bar


def median_latencies(models, x, repeats):
    """Median seconds per forward of each model, measured round-robin so that a
    change in machine load affects every model alike (a progress bar on stderr)."""
    times = [[] for _ in models]
    bar = progress_bar(repeats)
    with torch.no_grad():
        for model in models:
            model.eval()
            model(x)
        for _ in range(repeats):
            for i, model in enumerate(models):
                t0 = time.perf_counter()
                model(x)
                times[i].append(time.perf_counter() - t0)
            bar.update()
    return [sorted(t)[len(t) // 2] for t in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import timm
    from mmdet.models.backbones import MobileNetV2
    from rexnet_mm.models.backbones.rexnet import ReXNet

    x = torch.randn(1, 3, args.size, args.size)
    rows = [
        ('ReXNet-1.0 (rexnet_mm, taps s4-s32)', ReXNet(out_indices=(1, 2, 4, 5))),
        ('ReXNet-1.0 (timm, features_only)',
         timm.create_model('rexnet_100', features_only=True, out_indices=(1, 2, 3, 4))),
        ('MobileNetV2 (mmdet, s4-s32)', MobileNetV2(out_indices=(1, 2, 4, 7))),
    ]
    from rexnet_mm.analysis.parity import randomize_
    for _, model in rows:  # trained-like weights for all (default inits can hit denormals)
        randomize_(model, seed=0)
    results = list(zip([n for n, _ in rows], median_latencies([m for _, m in rows], x,
                                                                args.repeats)))
    base = results[0][1]
    print(f'median latency, batch 1, {args.size}x{args.size}, {args.threads} threads')
    print('| backbone | ms | ratio to rexnet_mm ReXNet-1.0 |')
    print('|---|---|---|')
    for name, t in results:
        print(f'| {name} | {1000 * t:.1f} | {t / base:.2f} |')


if __name__ == '__main__':
    main()
