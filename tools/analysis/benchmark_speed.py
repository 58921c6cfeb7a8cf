#!/usr/bin/env python
"""CPU inference speed as ratios against peers measured in the same run.

    .venv/bin/python tools/analysis/benchmark_speed.py [--threads 2] [--repeats 10]
        [--batch 1 8] [--size 224] [--det-size 320] [--quick]

Backbones (every ReXNet width, a RegNetX/RegNetY spread; as ImageNet classifiers): ours
eager vs timm's same network, ours BN-folded, under ONNX Runtime, OpenVINO and ONNX
Runtime's INT8. Detectors: SSDLite-ReXNet-1.0 vs mmdet's SSDLite-MobileNetV2 (eager,
fused, ONNX Runtime, OpenVINO) and a
Faster R-CNN. Achieved GFLOP/s next to the fp32 matmul peak it measures. Absolute times
depend on the machine and its load; the ratios are what to compare (docs/deploy.md).
``--quick``: ReXNet-1.0, RegNetY-400MF and the two SSDLites only.
"""
import argparse

from rexnet_mm.analysis.benchmark import format_tables, run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--batch', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--det-size', type=int, default=320)
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    result = run(tuple(args.batch), args.size, args.det_size, args.repeats, args.threads,
                 args.quick)
    print(format_tables(result))
    return result


if __name__ == '__main__':
    main()
