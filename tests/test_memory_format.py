"""Channels-last execution of the backbones (``channels_last``, ``nchw_outputs``).

Independent reference: the same backbone run in NCHW (``channels_last=False``);
randomised weights (rexnet_mm.analysis.parity.randomize_) so that every layer matters.
Why the outputs are NCHW by default: mmcv 2.1.0's RoIAlign reads a channels-last feature
map as if it were NCHW; tests/test_deploy.py's Faster R-CNN test (mmdet's eager
``predict`` against ONNX Runtime) fails with NHWC outputs (top detections at IoU 0).
"""
import pytest
import torch

import rexnet_mm  # noqa: F401
from rexnet_mm.analysis.parity import REGNET_RANDOM, randomize_
from rexnet_mm.models.backbones import PyclsRegNet, ReXNet
from rexnet_mm.numerics import rel_diff

#: NHWC against NCHW changes only the order of float32 additions inside each conv
#: (oneDNN's kernels for the two layouts): a few eps (1.2e-7) per layer, grown by depth.
#: Measured at most 8.7e-7 of the outputs' scale (2 threads; 1 thread with MKL/oneDNN
#: capped at AVX2); the bound leaves 57x.
LAYOUT_RTOL = 5e-5


@pytest.mark.parity
@pytest.mark.parametrize('family', ['rexnet', 'regnety'])
def test_channels_last_gives_the_nchw_values_in_nchw_layout(family):
    def build(**kw):
        if family == 'rexnet':
            return randomize_(ReXNet(1.0, out_indices=(1, 2, 4, 5), **kw), seed=0)
        return randomize_(PyclsRegNet('regnety_400mf', **kw), seed=0, **REGNET_RANDOM)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        ref = build(channels_last=False)(x)
        outs = build()(x)
        nhwc = build(nchw_outputs=False)(x)
    worst = 0.0
    for o, n, r in zip(outs, nhwc, ref):
        assert o.is_contiguous() and o.shape == r.shape
        # without nchw_outputs the layout shows: NHWC strides
        assert n.is_contiguous(memory_format=torch.channels_last) and not n.is_contiguous()
        worst = max(worst, rel_diff(o, r), rel_diff(n, r))
    print(f'{family}: NHWC vs NCHW {worst:.1e} of the outputs\' scale')
    assert worst <= LAYOUT_RTOL
