"""Parameter and multiply-add counts as the papers report them."""
from functools import partial

import torch
import torch.nn as nn


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def flop_analyzer(model, size=224):
    """mmengine's FlopAnalyzer of ``model`` on one ``size x size`` image, quiet."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, torch.zeros(1, 3, size, size))
    return analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)


def conv_fc_macs(model, size=224):
    """Multiply-adds of convolutions and fully connected layers (the papers' MACs/FLOPs),
    counted by mmengine's FlopAnalyzer on one ``size x size`` image."""
    return sum(v for k, v in flop_analyzer(model, size).by_operator().items()
               if k in ('conv', 'linear', 'addmm', 'matmul'))


def pycls_flops(model):
    """Conv + FC multiply-adds of one of our RegNet classifiers at 224x224, as pycls
    counts them (BN is not counted); equal to ``conv_fc_macs(model)``, but fast.

    The analysis runs at 32x32: every feature map at 224 is exactly 7x7 times larger
    (112..7 vs 16..1), so the spatial convs scale by 49; the SE convs (``.se.``) and the
    classifier (``head.``) act on pooled 1x1 features and do not scale.
    """
    counts = flop_analyzer(model, 32).by_module_and_operator()
    total = 0
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            flops = sum(counts.get(name, {}).get(op, 0) for op in ('conv', 'linear'))
            total += flops if ('.se.' in name or name.startswith('head.')) else 49 * flops
    return total


def config_complexity(cfg_path, shape=None):
    """Parameters and FLOPs of one detector or segmentor config, a path or a ``Config``
    (tools/analysis/get_flops.py).

    FLOPs are counted by mmengine's analyzer (one multiply-add counts as one FLOP, i.e.
    MACs) on one image through the model's ``_forward``, as mmdet's and mmseg's
    get_flops.py do; the default input is the config's test resize (mmdet) or crop size
    (mmseg). Parameters are those of the modules the forward pass runs; modules built but
    never run are counted apart.

    Returns ``dict(params, backbone_params, unused_params, flops, shape,
    backbone_flops, neck_flops)``.
    """
    import torch
    from mmengine.analysis import FlopAnalyzer

    from ..apis.build import build_random_model, config_input_shape
    model, cfg, scope = build_random_model(cfg_path)
    model.eval()
    h, w = shape or config_input_shape(cfg)
    pad = cfg.model.data_preprocessor.get('pad_size_divisor', 1) or 1
    ph, pw = -(-h // pad) * pad, -(-w // pad) * pad
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(ph, pw),
                batch_input_shape=(ph, pw), scale_factor=(1., 1.))
    if scope == 'mmseg':
        from mmseg.structures import SegDataSample as Sample
    else:
        from mmdet.structures import DetDataSample as Sample
    sample = Sample(metainfo=meta)
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
    # conv when FPN reads only the stride 4-32 stages) are built but not part of the model
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
