#!/usr/bin/env python
"""Parameters and FLOPs of detector configs (backbone, neck, heads; test mode).

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


def load_config(cfg_path):
    """A config from a file, or from an installed toolbox as ``'mmdet::path/in/configs.py'``."""
    from mmengine.config import Config

    if '::' in cfg_path and not osp.isfile(cfg_path):
        from mmengine.config.utils import _get_package_and_cfg_path
        from mmengine.utils import get_installed_path

        try:
            package, rel = _get_package_and_cfg_path(cfg_path)
        except ValueError:
            raise FileNotFoundError(f'{cfg_path!r}: write a toolbox config as '
                                    f"'mmdet::folder/name.py'") from None
        path = osp.join(get_installed_path(package), '.mim', 'configs', rel)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{cfg_path!r}: no such config in {package} ({path})')
        return Config.fromfile(path)
    if not osp.isfile(cfg_path):
        raise FileNotFoundError(f'{cfg_path!r}: no such config file')
    return Config.fromfile(cfg_path)


def complexity(cfg_path, shape=None):
    """``dict(params, flops, backbone_params, shape)`` of one config."""
    import torch
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.analysis import FlopAnalyzer
    from mmengine.registry import init_default_scope

    import rexnet_mm  # noqa: F401

    cfg = load_config(cfg_path)
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
        by_module = flops.by_module()
        uncalled = flops.uncalled_modules()
    # parameters of modules the forward pass never runs (e.g. ReXNet's 1280-channel head
    # conv when FPN reads only the stride 4-32 taps) are built but not part of the detector
    idle = [n for n in uncalled if not any(n.startswith(u + '.') for u in uncalled)]
    modules = dict(model.named_modules())
    unused = sum(p.numel() for n in idle for p in modules[n].parameters())
    unused_backbone = sum(p.numel() for n in idle if n.startswith('backbone.')
                          for p in modules[n].parameters())
    return dict(params=sum(p.numel() for p in model.parameters()) - unused,
                backbone_params=sum(p.numel() for p in model.backbone.parameters())
                - unused_backbone,
                unused_params=unused, flops=total, shape=(ph, pw),
                backbone_flops=by_module['backbone'], neck_flops=by_module.get('neck', 0))


def main(argv=None):
    parser = argparse.ArgumentParser(description='Params and FLOPs of detector configs.')
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', nargs=2, type=int, metavar=('H', 'W'))
    args = parser.parse_args(argv)
    print('| config | input | params (M) | backbone params (M) | GFLOPs | built, unused (M) |')
    print('|---|---|---|---|---|---|')
    for path in args.configs:
        try:
            r = complexity(path, args.shape)
        except FileNotFoundError as exc:
            sys.exit(f'error: {exc}')
        name = osp.splitext(osp.basename(path))[0]
        name = f'{path.split("::")[0]}::{name}' if '::' in path else name
        print(f'| {name} | {r["shape"][0]}x{r["shape"][1]} | '
              f'{r["params"] / 1e6:.2f} | {r["backbone_params"] / 1e6:.2f} | '
              f'{r["flops"] / 1e9:.1f} | {r["unused_params"] / 1e6:.2f} |', flush=True)


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    main()
