"""BN folding (rexnet_mm.models.fusion) on every family the configs ship: classifiers
(ReXNet, ReXNet-lite's BN1d head, RegNetY), SSDLite, a Faster R-CNN and segmentors.

Independent reference: the same model unfused, on randomised weights and BN statistics
(rexnet_mm.analysis.parity.randomize_: BN scales and shifts far from identity, so a BN
folded wrongly, or not at all, moves the outputs by O(1)).
"""
import copy
import os.path as osp

import pytest
import torch

import rexnet_mm  # noqa: F401
from rexnet_mm.analysis.parity import REGNET_RANDOM, randomize_
from rexnet_mm.apis.build import build_random_model
from rexnet_mm.fixes import default_scope
from rexnet_mm.models.fusion import batchnorms, fuse_bn
from rexnet_mm.numerics import rel_diff

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: The issue's bound on fused vs unfused outputs, relative to each output's scale.
#: Folding changes only float32 rounding: W * gamma / sqrt(var + eps) is rounded once
#: instead of the BN being applied after the conv (a few eps = 1.2e-7 per layer, grown
#: by depth); measured at most 3.1e-6 (the test prints it; 2 threads, and 1 thread with
#: MKL/oneDNN capped at AVX2), 30x below the bound.
FUSION_RTOL = 1e-4

CONFIGS = [
    'classification/rexnet-1.0_4xb128_in1k.py',
    'classification/rexnet-lite-1.0_4xb128_in1k.py',  # Linear -> BN1d head
    'finegrained/regnety-1.6gf_cub.py',
    'ssdlite_rexnet.py',
    'detection/faster-rcnn/faster-rcnn_regnetx-3.2gf_fpn_1x_coco.py',
    'segmentation/deeplabv3plus/deeplabv3plus_rexnet-1.0-d8_4xb4-160k_ade20k-512x512.py',
    'segmentation/sem_fpn/fpn_regnety-400mf_4xb2-80k_cityscapes-512x1024.py',
]


def _flat(o, out):
    if isinstance(o, torch.Tensor):
        out.append(o)
    elif isinstance(o, (list, tuple)):
        for v in o:
            _flat(v, out)
    elif isinstance(o, dict):
        for v in o.values():
            _flat(v, out)
    return out


def _outputs(model, x, scope, proposals=None):
    """Every tensor the model's ``_forward`` (mode='tensor') returns, flattened, and the
    RPN's proposals. A two-stage detector's RoI head runs on ``proposals`` when given
    (the unfused model's): proposal boxes moved by float rounding resample RoIAlign, which
    would measure the boxes' sensitivity rather than the folding."""
    samples = None
    if scope == 'mmdet':
        from mmdet.structures import DetDataSample
        samples = [DetDataSample(metainfo=dict(img_shape=x.shape[2:], pad_shape=x.shape[2:],
                                               ori_shape=x.shape[2:], scale_factor=(1, 1)))
                   for _ in x]
    with torch.no_grad(), default_scope(scope):
        if not hasattr(model, 'roi_head'):
            return _flat(model(x, samples, mode='tensor'), []), None
        feats = model.extract_feat(x)
        if proposals is None:
            proposals = model.rpn_head.predict(feats, samples, rescale=False)
        roi = model.roi_head.forward(feats, proposals, samples)
        return _flat([feats, model.rpn_head(feats), roi], []), proposals


@pytest.mark.slow
@pytest.mark.parametrize('name', CONFIGS)
def test_fused_model_equals_unfused_and_has_no_bn(name):
    model, _, scope = build_random_model(osp.join(ROOT, 'configs', name))
    randomize_(model, seed=1, **(REGNET_RANDOM if 'regnet' in name else {}))
    n_bn = len(batchnorms(model))
    assert n_bn > 10
    fused, left = fuse_bn(copy.deepcopy(model))
    assert left == [] and batchnorms(fused) == []
    x = torch.randn(2, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    ref, proposals = _outputs(model, x, scope)
    out, _ = _outputs(fused, x, scope, proposals)
    assert len(ref) == len(out) > 0
    worst = max(rel_diff(a, b) for a, b in zip(out, ref))
    print(f'{name}: {n_bn} BN folded, largest relative difference {worst:.1e}')
    assert worst <= FUSION_RTOL
