"""Channels-last execution of the backbones (``channels_last``, ``nchw_outputs``).

Independent reference: the same backbone run in NCHW (``channels_last=False``), and for
the detector, mmdet's Faster R-CNN ``predict`` on NCHW features; randomised weights
(rexnet_mm.analysis.parity.randomize_) so that every layer matters.
"""
import os.path as osp

import pytest
import torch

import rexnet_mm  # noqa: F401
from rexnet_mm.analysis.complexity import build_random_model
from rexnet_mm.analysis.parity import REGNET_RANDOM, randomize_, rel_diff
from rexnet_mm.fixes import default_scope
from rexnet_mm.models.backbones import PyclsRegNet, ReXNet

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: NHWC against NCHW changes only the order of float32 additions inside each conv
#: (oneDNN's kernels for the two layouts): a few eps (1.2e-7) per layer, grown by depth.
#: Measured at most 8.7e-7 of the outputs' scale (2 threads; 1 thread with MKL/oneDNN
#: capped at AVX2); the bound leaves 57x.
LAYOUT_RTOL = 5e-5


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


def test_faster_rcnn_detects_the_same_in_either_layout():
    """mmcv 2.1.0's RoIAlign reads a channels-last feature map as if it were NCHW
    (wrong features, whatever the strides say): handing NHWC features to Faster R-CNN's
    RoI head changed its detections completely. The backbone's NCHW outputs keep them."""
    from mmdet.structures import DetDataSample
    from torchvision.ops import box_iou
    config = osp.join(ROOT, 'configs', 'detection', 'faster-rcnn',
                      'faster-rcnn_rexnet-1.0_fpn_1x_coco.py')
    model, _, scope = build_random_model(config)
    randomize_(model, seed=0)
    size = (160, 160)
    sample = DetDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size,
                                         scale_factor=(1., 1.)))
    x = torch.randn(1, 3, *size)
    preds = []
    with torch.no_grad(), default_scope(scope):
        for channels_last in (False, True):
            model.backbone.channels_last = channels_last
            preds.append(model.predict(x, [sample], rescale=False)[0].pred_instances)
    ref, out = preds
    assert len(ref.scores) >= 10
    # the top 10 reference detections found again: same label, IoU >= 0.99, same score
    iou = box_iou(ref.bboxes[:10], out.bboxes) * (ref.labels[:10, None] == out.labels)
    best, match = iou.max(1)
    assert best.min() >= 0.99, best
    assert (out.scores[match] - ref.scores[:10]).abs().max() <= 1e-3
