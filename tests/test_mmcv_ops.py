"""mmcv's compiled CPU ops, as tools/install.sh builds them, against independent references.

tools/install.sh compiles mmcv 2.1.0's C++ ops as a few "unity" translation units
instead of mmcv's 77 (tools/mmcv_unity.py). These tests pin down that the ops mmdet and
mmseg call give the answers of independent implementations: torchvision's ops where
torchvision has the same op (nms, batched_nms, roi_align and its gradient, deform_conv2d
with and without mask, box_iou), the axis-aligned op where a rotated op at angle 0 must
equal it (roi_align_rotated, box_iou_rotated, nms_rotated), and a few lines of plain
PyTorch elsewhere (soft-NMS, PSAMask). Inputs are fixed by seed. (roi_pool, CARAFE,
masked conv and the focal losses have no CPU kernel in mmcv at all; mmdet and mmseg
use their PyTorch versions on the CPU.)

Tolerances: the op and its reference compute the same float32 sums in different
orders, so outputs agree to a few float32 ulps of their magnitude; ``close`` allows
1e-5 of the reference's largest magnitude (float32 epsilon is 1.2e-7, and these ops sum
at most a few hundred terms), far below the O(1) differences a wrong index, offset or
interpolation weight produces.
"""
import pytest
import torch
import torch.nn.functional as F

ops = pytest.importorskip('mmcv.ops')
tv_ops = pytest.importorskip('torchvision.ops')


def close(actual, expected, rel=1e-5):
    """``max |actual - expected| <= rel * max |expected|`` (see the module docstring)."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = expected.abs().max().item()
    err = (actual - expected).abs().max().item()
    assert scale > 0 and err <= rel * scale, (err, scale)


def boxes_and_scores(n=200, size=64.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 3 + 2
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g)


def feature_and_rois(seed=0):
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(2, 8, 24, 32, generator=g)
    x0y0 = torch.rand(16, 2, generator=g) * 80
    wh = torch.rand(16, 2, generator=g) * 40 + 4
    idx = torch.randint(0, 2, (16, 1), generator=g).float()
    return feat, torch.cat([idx, x0y0, x0y0 + wh], 1)  # rois in input pixels (scale 1/4)


def test_ext_module_is_compiled():
    from mmcv.utils import ext_loader
    ext = ext_loader.load_ext('_ext', ['nms', 'roi_align_forward', 'psamask_forward'])
    assert all(callable(getattr(ext, n)) for n in ('nms', 'roi_align_forward',
                                                    'psamask_forward'))


@pytest.mark.parametrize('iou', [0.3, 0.5, 0.7])
def test_nms_equals_torchvision(iou):
    boxes, scores = boxes_and_scores()
    _, keep = ops.nms(boxes, scores, iou)
    expected = tv_ops.nms(boxes, scores, iou)
    assert 10 < len(expected) < len(boxes)  # some boxes suppressed, some kept
    assert keep.tolist() == expected.tolist()


def test_batched_nms_equals_torchvision():
    boxes, scores = boxes_and_scores(seed=1)
    labels = torch.arange(len(boxes)) % 3
    dets, keep = ops.batched_nms(boxes, scores, labels, dict(type='nms', iou_threshold=0.5))
    expected = tv_ops.batched_nms(boxes, scores, labels, 0.5)
    assert keep.tolist() == expected.tolist()
    close(dets[:, 4], scores[expected])


def test_soft_nms_decays_overlapping_scores():
    boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = ops.soft_nms(boxes, scores, iou_threshold=0.3, sigma=0.5,
                              min_score=0.0, method='linear')
    iou = tv_ops.box_iou(boxes[:1], boxes[1:2]).item()  # 0.68: linear decay by 1 - iou
    got = dict(zip(keep.tolist(), dets[:, 4].tolist()))
    assert got[0] == pytest.approx(0.9) and got[2] == pytest.approx(0.7)
    assert got[1] == pytest.approx(0.8 * (1 - iou), rel=1e-5)


@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_roi_align_and_its_gradient_equal_torchvision(sampling_ratio):
    feat, rois = feature_and_rois()
    a = feat.clone().requires_grad_()
    b = feat.clone().requires_grad_()
    out = ops.roi_align(a, rois, (7, 7), 0.25, sampling_ratio, 'avg', True)
    ref = tv_ops.roi_align(b, rois, (7, 7), 0.25, sampling_ratio, aligned=True)
    close(out, ref)
    weights = torch.randn(ref.shape, generator=torch.Generator().manual_seed(5))
    (out * weights).sum().backward()
    (ref * weights).sum().backward()
    close(a.grad, b.grad)
    module = ops.RoIAlign((7, 7), spatial_scale=0.25, sampling_ratio=sampling_ratio)
    close(module(feat, rois), ref.detach())


def test_roi_align_rotated_at_angle_zero_equals_roi_align():
    feat, rois = feature_and_rois(seed=2)
    centre, size = (rois[:, 1:3] + rois[:, 3:5]) / 2, rois[:, 3:5] - rois[:, 1:3]
    rotated = torch.cat([rois[:, :1], centre, size, torch.zeros(len(rois), 1)], 1)
    out = ops.roi_align_rotated(feat, rotated, (5, 5), 0.25, 2, True, False)
    close(out, tv_ops.roi_align(feat, rois, (5, 5), 0.25, 2, aligned=True))


def test_bbox_overlaps_equals_box_iou():
    a, _ = boxes_and_scores(30, seed=3)
    b, _ = boxes_and_scores(20, seed=4)
    close(ops.bbox_overlaps(a, b), tv_ops.box_iou(a, b))


@pytest.mark.parametrize('modulated', [False, True])
def test_deform_conv_equals_torchvision(modulated):
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 4, 9, 11, generator=g)
    weight = torch.randn(6, 4, 3, 3, generator=g)
    offset = torch.randn(2, 18, 9, 11, generator=g) * 2
    mask = torch.rand(2, 9, 9, 11, generator=g)
    if modulated:
        bias = torch.randn(6, generator=g)
        out = ops.modulated_deform_conv2d(x, offset, mask, weight, bias, 1, 1, 1, 1, 1)
        ref = tv_ops.deform_conv2d(x, offset, weight, bias, padding=1, mask=mask)
    else:
        out = ops.deform_conv2d(x, offset, weight, 1, 1, 1, 1, 1)
        ref = tv_ops.deform_conv2d(x, offset, weight, padding=1)
    close(out, ref)


def test_rotated_box_ops_at_angle_zero_equal_axis_aligned_ones():
    boxes, scores = boxes_and_scores(80, seed=7)
    rotated = torch.cat([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2],
                         torch.zeros(len(boxes), 1)], 1)
    close(ops.box_iou_rotated(rotated, rotated), tv_ops.box_iou(boxes, boxes))
    _, keep = ops.nms_rotated(rotated, scores, 0.5)
    assert sorted(keep.tolist()) == sorted(tv_ops.nms(boxes, scores, 0.5).tolist())


@pytest.mark.parametrize('psa_type', ['collect', 'distribute'])
def test_psamask_equals_loops(psa_type):
    h, w, mh, mw = 5, 6, 3, 5
    x = torch.randn(1, mh * mw, h, w, generator=torch.Generator().manual_seed(10))
    out = ops.PSAMask(psa_type, (mh, mw))(x)
    ref = torch.zeros(1, h * w, h, w)
    for i in range(h):
        for j in range(w):
            for a in range(mh):
                for b in range(mw):
                    y, z = i + a - mh // 2, j + b - mw // 2
                    if 0 <= y < h and 0 <= z < w:
                        if psa_type == 'collect':
                            ref[0, y * w + z, i, j] = x[0, a * mw + b, i, j]
                        else:
                            ref[0, i * w + j, y, z] = x[0, a * mw + b, i, j]
    close(out, ref)
