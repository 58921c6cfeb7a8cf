#!/usr/bin/env python
"""Parameters and FLOPs of detector configs (backbone, neck, heads; test mode).

    python tools/analysis/get_flops.py CONFIG [CONFIG ...] [--shape H W]

FLOPs are counted by mmengine's analyzer (fvcore convention: one multiply-add
counts as one FLOP, i.e. the numbers are MACs) on one image through the model's
``_forward`` (what mmdet's tools/analysis_tools/get_flops.py measures). The
default input is the config's test resize: 320x320 for SSDLite, 800x1333 for
the 1x R-CNN configs. Backbone init_cfg is ignored (no checkpoint needed).
"""
import argparse
import os
import os.path as osp
import sys
from functools import partial

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # see tools/train.py


def default_shape(cfg):
    for step in cfg.test_dataloader.dataset.pipeline:
        if step['type'] == 'Resize':
            w, h = step['scale']
            if step.get('keep_ratio', False):
                return min(w, h), max(w, h)  # short side x long side (landscape)
            return h, w
    return 800, 1333


def complexity(cfg_path, shape=None):
    """``dict(params, flops, backbone_params, shape)`` of one config."""
    import torch
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.analysis import FlopAnalyzer
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import rexnet_mm  # noqa: F401

    cfg = Config.fromfile(cfg_path)
    cfg.model.backbone.init_cfg = None
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model).eval()
    h, w = shape or default_shape(cfg)
    pad = cfg.model.data_preprocessor.get('pad_size_divisor', 1) or 1
    ph, pw = -(-h // pad) * pad, -(-w // pad) * pad
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(ph, pw),
                                         batch_input_shape=(ph, pw), scale_factor=(1., 1.)))
    torch.manual_seed(0)
    inputs = torch.rand(1, 3, ph, pw)
    model.forward = partial(model.forward, data_samples=[sample], mode='tensor')
    with torch.no_grad():
        flops = FlopAnalyzer(model, inputs)
        flops.unsupported_ops_warnings(False)
        flops.uncalled_modules_warnings(False)
        total = flops.total()
    return dict(params=sum(p.numel() for p in model.parameters()),
                backbone_params=sum(p.numel() for p in model.backbone.parameters()),
                flops=total, shape=(ph, pw))


def main(argv=None):
    parser = argparse.ArgumentParser(description='Params and FLOPs of detector configs.')
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'))
    args = parser.parse_args(argv)
    print(f'| config | input | params (M) | backbone params (M) | GFLOPs |')
    print(f'|---|---|---|---|---|')
    for path in args.configs:
        r = complexity(path, args.shape)
        print(f'| {osp.splitext(osp.basename(path))[0]} | {r["shape"][0]}x{r["shape"][1]} | '
              f'{r["params"] / 1e6:.2f} | {r["backbone_params"] / 1e6:.2f} | '
              f'{r["flops"] / 1e9:.1f} |', flush=True)


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    main()
