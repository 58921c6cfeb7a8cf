#!/usr/bin/env python
"""Parameters and FLOPs of detector and segmentor configs (backbone, neck, heads; test mode).

    python tools/analysis/get_flops.py CONFIG [CONFIG ...] [--shape H W]

CONFIG is a file or a toolbox's own config, e.g. ``mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py``
(a peer measured by the same code in the same run).

FLOPs are counted by mmengine's analyzer (fvcore convention: one multiply-add
counts as one FLOP, i.e. the numbers are MACs) on one image through the model's
``_forward`` (what mmdet's tools/analysis_tools/get_flops.py measures). The
default input is the config's test resize: 320x320 for SSDLite, 800x1333 for
the 1x R-CNN configs. Backbone init_cfg is ignored (no checkpoint needed).
Two-stage FLOPs include the RoI heads on the proposals the RPN keeps (1000 at
full size; fewer on small inputs). Parameters are those of the modules the forward pass runs; layers that are built
but never run (ReXNet's 1280-channel head conv under FPN) are listed apart.
"""
import argparse
import os.path as osp
import sys

from rexnet_mm.analysis.complexity import config_complexity


def main(argv=None):
    parser = argparse.ArgumentParser(description='Params and FLOPs of detector configs.')
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'))
    args = parser.parse_args(argv)
    print('| config | input | params (M) | backbone params (M) | GFLOPs | built, unused (M) |')
    print('|---|---|---|---|---|---|')
    for path in args.configs:
        try:
            r = config_complexity(path, args.shape)
        except FileNotFoundError as exc:
            sys.exit(f'error: {exc}')
        name = osp.splitext(osp.basename(path))[0]
        name = f'{path.split("::")[0]}::{name}' if '::' in path else name
        print(f'| {name} | {r["shape"][0]}x{r["shape"][1]} | '
              f'{r["params"] / 1e6:.2f} | {r["backbone_params"] / 1e6:.2f} | '
              f'{r["flops"] / 1e9:.1f} | {r["unused_params"] / 1e6:.2f} |', flush=True)


if __name__ == '__main__':
    main()
