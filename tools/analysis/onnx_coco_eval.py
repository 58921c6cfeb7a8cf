#!/usr/bin/env python
"""COCO bbox AP and latency of exported SSD models (tools/deploy.py) under ONNX Runtime.

    .venv/bin/python tools/analysis/onnx_coco_eval.py MODEL.onnx [MODEL.int8.onnx ...] \\
        --ann data/shapes_coco_v3/annotations/instances_val.json \\
        --img-dir data/shapes_coco_v3/val --shape 128 128 [--threads 2] [--repeats 50]

Every image of --ann is resized to --shape, detected, and its boxes scaled back
(pycocotools scores them); the latency is the median of --repeats round-robin runs of
all models on one image (ratios against the first model).
"""
import argparse
import os.path as osp

from rexnet_mm.analysis.benchmark import median_times
from rexnet_mm.deploy.evaluation import coco_eval_onnx
from rexnet_mm.deploy.export import ort_session
from rexnet_mm.deploy.loading import read_image


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('models', nargs='+')
    parser.add_argument('--ann', required=True)
    parser.add_argument('--img-dir', required=True)
    parser.add_argument('--shape', type=int, nargs=2, required=True, metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=50)
    args = parser.parse_args(argv)
    shape = tuple(args.shape)
    rows = []
    for path in args.models:
        stats = coco_eval_onnx(path, args.ann, args.img_dir, shape,
                               osp.splitext(path)[0] + '.bbox.json')
        rows.append((path, stats))
    import json
    with open(args.ann) as f:
        first = json.load(f)['images'][0]['file_name']
    image = read_image(osp.join(args.img_dir, first), shape).numpy()
    sessions = [ort_session(p, args.threads) for p in args.models]
    times = median_times([lambda s=s: s.run(None, {'image': image}) for s in sessions],
                         args.repeats)
    print(f'{args.threads} threads, {shape[0]}x{shape[1]}, median of {args.repeats}')
    print('| model | AP | AP@0.5 | ms | time / first |')
    print('|---|---|---|---|---|')
    for (path, stats), t in zip(rows, times):
        print(f'| {osp.basename(path)} | {stats[0]:.3f} | {stats[1]:.3f} | {1000 * t:.2f} | '
              f'{t / times[0]:.2f} |')
    return rows, times


if __name__ == '__main__':
    main()
