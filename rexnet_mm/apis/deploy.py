"""Deployment: BN folded, exported to ONNX, checked under ONNX Runtime (tools/deploy.py).

The exported graph takes what ``mmcv.imread`` gives, resized to the export shape:
``image``, float32 ``N x 3 x H x W``, BGR, 0-255. The model's own input normalisation
(mean/std, BGR -> RGB) is the graph's first node, so running it needs no OpenMMLab code.
Outputs, by model kind:

* classifier (mmpretrain ``ImageClassifier``): ``scores``, ``N x classes``, softmax;
* segmentor (mmseg ``EncoderDecoder``): ``labels``, ``N x H x W`` int64: the argmax of
  the logits resized to the input (mmseg's predict without rescaling);
* SSD / SSDLite (mmdet ``SingleStageDetector`` with an ``SSDHead``), one image:
  ``boxes`` ``K x 4`` (x1, y1, x2, y2 in input pixels), ``scores`` ``K``, ``labels`` ``K``
  int64, best first: mmdet's ``predict(rescale=False)`` written in ONNX ops, with its
  per-level ``nms_pre``, ``score_thr``, zero-size box filter, class-wise NMS as ONNX
  ``NonMaxSuppression``, and ``max_per_img``. The anchors are constants of the export
  shape, so ``--dynamic`` is refused for detectors.

Exporter: ``torch.onnx.export(dynamo=False)`` (TorchScript tracing, opset 17): it maps
our NMS to ``NonMaxSuppression`` directly and exports in about a second where torch's
dynamo exporter took 30 s per model here (both give the same parity on the classifier).
"""
import contextlib
import os
import os.path as osp
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .config import ConfigError

OPSET = 17
#: Parity bounds (the issue's): classifier scores relative to their scale; segmentor
#: labels; detector boxes/scores of the top detections.
SCORE_RTOL = 1e-4
LABEL_AGREEMENT = 0.999
BOX_IOU = 0.99
DET_SCORE_ATOL = 1e-3


class _Normalize(nn.Module):
    """The data preprocessor's normalisation as graph ops: BGR 0-255 in."""

    def __init__(self, preprocessor):
        super().__init__()
        flip = any(bool(getattr(preprocessor, k, False)) for k in
                   ('_channel_conversion', 'channel_conversion', 'to_rgb'))
        mean = getattr(preprocessor, 'mean', None)
        std = getattr(preprocessor, 'std', None)
        if mean is None or std is None:
            raise ConfigError('the model has no input mean/std (data_preprocessor): set '
                              'data_preprocessor=dict(mean=..., std=...) in the config')
        self.flip = flip
        self.register_buffer('mean', mean.detach().reshape(1, -1, 1, 1).float())
        self.register_buffer('std', std.detach().reshape(1, -1, 1, 1).float())

    def forward(self, image):
        if self.flip:
            image = image.flip(1)
        return (image - self.mean) / self.std


class ClassifierExport(nn.Module):
    outputs = ('scores', )

    def __init__(self, model):
        super().__init__()
        self.pre, self.model = _Normalize(model.data_preprocessor), model

    def forward(self, image):
        return self.model.head(self.model.extract_feat(self.pre(image))).softmax(-1)


class SegmentorExport(nn.Module):
    outputs = ('labels', )

    def __init__(self, model):
        super().__init__()
        self.pre, self.model = _Normalize(model.data_preprocessor), model

    def forward(self, image):
        logits = self.model._forward(self.pre(image))
        logits = F.interpolate(logits, size=image.shape[2:], mode='bilinear',
                               align_corners=self.model.decode_head.align_corners)
        return logits.argmax(1)


class _NMS(torch.autograd.Function):
    """Class-wise NMS of one image: ``selected`` ``K x 3`` (0, class, box index), per
    class by descending score. Eager: torchvision; exported: ONNX NonMaxSuppression."""

    @staticmethod
    def forward(ctx, boxes, scores, max_per_class, iou_thr, score_thr):
        from torchvision.ops import nms
        selected = []
        for c in range(scores.shape[1]):
            s = scores[0, c]
            keep = (s > score_thr).nonzero().squeeze(1)
            idx = keep[nms(boxes[0, keep], s[keep], iou_thr)[:max_per_class]]
            selected.append(torch.stack([torch.zeros_like(idx), torch.full_like(idx, c),
                                         idx], 1))
        return torch.cat(selected)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class, iou_thr, score_thr):
        def const(v, dtype):
            return g.op('Constant', value_t=torch.tensor([v], dtype=dtype))
        return g.op('NonMaxSuppression', boxes, scores, const(max_per_class, torch.int64),
                    const(iou_thr, torch.float32), const(score_thr, torch.float32))


class SSDExport(nn.Module):
    outputs = ('boxes', 'scores', 'labels')

    def __init__(self, model):
        super().__init__()
        self.pre, self.model = _Normalize(model.data_preprocessor), model
        cfg = model.bbox_head.test_cfg
        nms = cfg.get('nms', {})
        if nms.get('type', 'nms') != 'nms':
            raise ConfigError(f"only plain NMS exports (test_cfg.nms.type={nms['type']!r})")
        self.nms_pre, self.score_thr = cfg.get('nms_pre', -1), cfg.get('score_thr', 0)
        self.iou_thr, self.max_per_img = nms.get('iou_threshold', 0.5), cfg.max_per_img
        self.min_size = cfg.get('min_bbox_size', -1)

    def decode(self, anchors, deltas, shape):
        # the coder's eager function: mmdet 3.3.0's ``decode`` switches to
        # ``onnx_delta2bbox`` under export, which imports the removed ``mmdet.core``
        from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
        coder = self.model.bbox_head.bbox_coder
        return delta2bbox(anchors, deltas, coder.means, coder.stds, shape,
                          clip_border=coder.clip_border, add_ctr_clamp=coder.add_ctr_clamp,
                          ctr_clamp=coder.ctr_clamp)

    def forward(self, image):
        head = self.model.bbox_head
        cls_scores, bbox_preds = head(self.model.extract_feat(self.pre(image)))
        anchors = head.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores], device=image.device)
        boxes, scores = [], []
        for s, d, a in zip(cls_scores, bbox_preds, anchors):  # per level, as mmdet
            s = s[0].permute(1, 2, 0).reshape(-1, head.cls_out_channels).softmax(-1)[:, :-1]
            d = d[0].permute(1, 2, 0).reshape(-1, 4)
            flat = s.reshape(-1)
            k = flat.shape[0] if self.nms_pre <= 0 else min(self.nms_pre, flat.shape[0])
            top, pair = flat.topk(k)  # (anchor, class) pairs, as filter_scores_and_topk
            anchor, label = pair // head.num_classes, pair % head.num_classes
            box = self.decode(a[anchor], d[anchor], image.shape[2:])
            if self.min_size >= 0:
                wide = (box[:, 2] - box[:, 0] > self.min_size) & (
                    box[:, 3] - box[:, 1] > self.min_size)
                top = top * wide
            boxes.append(box)
            scores.append(F.one_hot(label, head.num_classes) * top[:, None])
        boxes, scores = torch.cat(boxes), torch.cat(scores)  # M x 4, M x classes
        selected = _NMS.apply(boxes[None], scores.t()[None], self.max_per_img,
                              float(self.iou_thr), float(self.score_thr))
        cls, idx = selected[:, 1], selected[:, 2]
        kept = scores[idx, cls]
        kept, order = kept.topk(torch.clamp(torch.tensor(self.max_per_img),
                                            max=kept.shape[0]) if torch.jit.is_tracing()
                                else min(self.max_per_img, kept.shape[0]))
        return boxes[idx[order]], kept, cls[order]


def model_kind(model):
    """'classifier', 'segmentor' or 'ssd'; a one-line error for other models."""
    name = type(model).__name__
    if hasattr(model, 'head') and hasattr(model, 'extract_feat') and name.endswith(
            'Classifier'):
        return 'classifier'
    if hasattr(model, 'decode_head'):
        return 'segmentor'
    head = getattr(model, 'bbox_head', None)
    if head is not None and type(head).__name__ in ('SSDHead', ) and not hasattr(
            model, 'roi_head'):
        return 'ssd'
    raise ConfigError(f'{name}: export is implemented for classifiers, segmentors and '
                      f'SSD/SSDLite detectors (not for this model)')


EXPORTS = {'classifier': ClassifierExport, 'segmentor': SegmentorExport, 'ssd': SSDExport}


def load_model(config, checkpoint):
    """``(model, cfg, scope)``: ``config``'s model with ``checkpoint``'s weights, eval
    mode; one-line errors for a missing, unreadable or mismatching checkpoint."""
    from mmengine.runner import load_checkpoint

    from ..analysis.complexity import build_random_model
    from ..fixes import default_scope
    from .runner import _loads
    if not osp.isfile(checkpoint):
        raise ConfigError(f'checkpoint {checkpoint!r} does not exist')
    why = _loads(checkpoint)
    if why is not None:
        raise ConfigError(f'checkpoint {checkpoint!r} cannot be loaded ({why})')
    if not osp.isfile(config):
        raise ConfigError(f'config file {config!r} does not exist')
    model, cfg, scope = build_random_model(config)
    with default_scope(scope), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                            logger='silent')
        except RuntimeError as exc:
            first = str(exc).splitlines()
            raise ConfigError(f'checkpoint {checkpoint!r} does not fit {osp.basename(config)} '
                              f'({" ".join(first[:2])[:200]}): pass the config it was '
                              f'trained with') from None
    return model.eval(), cfg, scope


def default_shape(cfg, kind):
    """(H, W): a fixed-size Resize of the test pipeline, else the crop size
    (segmentors), else 224 (classifiers) / 320 (SSD)."""
    pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline') or \
        cfg.get('test_pipeline') or []
    for step in pipeline:
        if step.get('type') == 'Resize' and not step.get('keep_ratio', False):
            scale = step['scale']
            w, h = (scale, scale) if isinstance(scale, int) else scale
            return int(h), int(w)
    if kind == 'segmentor' and cfg.get('crop_size'):
        return tuple(int(v) for v in cfg.crop_size)
    return (224, 224) if kind == 'classifier' else (320, 320)


def read_image(path, shape):
    """``1 x 3 x H x W`` float BGR 0-255 of ``path`` resized to ``shape`` (H, W); a
    generated shapes image (rexnet_mm.synthetic) when ``path`` is None."""
    import mmcv
    import numpy as np
    if path is None:
        from ..synthetic.shapes_coco import render_image
        img, _ = render_image(np.random.default_rng(0), size=max(shape))
    else:
        if not osp.isfile(path):
            raise ConfigError(f'image {path!r} does not exist')
        img = mmcv.imread(path)
        if img is None:
            raise ConfigError(f'cannot decode image {path!r}')
    img = mmcv.imresize(img, (shape[1], shape[0]))
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()


@contextlib.contextmanager
def _traceable_upsample():
    """mmseg's ``Upsample`` (FPN heads) computes its output size with ``int()``, which
    tracing bakes into the graph as the export shape's constant: at any other input size
    the exported model is wrong (measured: 7% of the logits' scale at 128 px after a
    96 px export). While exporting, it resizes by its scale factor instead (the same
    sizes, ``floor(size * scale)``), which ONNX ``Resize`` keeps relative."""
    try:
        from mmseg.models.utils.wrappers import Upsample, resize
    except ImportError:
        yield
        return
    original = Upsample.forward

    def forward(self, x):
        if self.size or not self.scale_factor:
            return original(self, x)
        return resize(x, None, self.scale_factor, self.mode, self.align_corners)

    Upsample.forward = forward
    try:
        yield
    finally:
        Upsample.forward = original


def export_onnx(wrapper, image, out, dynamic=False):
    """Trace ``wrapper`` on ``image`` into ``out`` (written whole or not at all)."""
    tmp = f'{out}.tmp-{os.getpid()}'
    axes = None
    if dynamic:
        axes = {'image': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({name: {0: 'batch'} for name in wrapper.outputs})
        if 'labels' in wrapper.outputs and isinstance(wrapper, SegmentorExport):
            axes['labels'] = {0: 'batch', 1: 'height', 2: 'width'}
    try:
        with torch.no_grad(), warnings.catch_warnings(), _traceable_upsample():
            warnings.simplefilter('ignore')
            torch.onnx.export(wrapper, (image, ), tmp, input_names=['image'],
                              output_names=list(wrapper.outputs), dynamic_axes=axes,
                              opset_version=OPSET, dynamo=False)
        os.replace(tmp, out)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def run_onnx(path, image):
    """ONNX Runtime (CPU execution provider) outputs of ``path`` on ``image``."""
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return [torch.from_numpy(o) for o in session.run(None, {'image': image.numpy()})]


def _box_iou(a, b):
    from torchvision.ops import box_iou
    return box_iou(a, b).diagonal()


def compare(kind, reference, outputs):
    """Parity of ONNX Runtime's ``outputs`` with the eager model's ``reference`` (same
    order); returns ``(ok, text)``."""
    from ..analysis.parity import rel_diff
    if kind == 'classifier':
        diff = rel_diff(outputs[0], reference[0])
        return diff <= SCORE_RTOL, f'scores: max relative difference {diff:.1e} ' \
                                   f'(bound {SCORE_RTOL:g})'
    if kind == 'segmentor':
        same = (outputs[0] == reference[0]).float().mean().item()
        return same >= LABEL_AGREEMENT, f'labels: {same:.4%} of pixels equal ' \
                                        f'(bound {LABEL_AGREEMENT:.1%})'
    boxes, scores, labels = reference
    k = min(len(scores), 10)
    if len(outputs[1]) < k:
        return False, f'{len(outputs[1])} detections, eager {len(scores)}'
    if k == 0:
        return True, 'no detection above the score threshold (eager: none either)'
    iou = _box_iou(outputs[0][:k], boxes[:k]).min().item()
    dscore = (outputs[1][:k] - scores[:k]).abs().max().item()
    same = bool((outputs[2][:k] == labels[:k]).all())
    ok = iou >= BOX_IOU and dscore <= DET_SCORE_ATOL and same
    return ok, (f'top {k} detections: labels {"equal" if same else "DIFFER"}, min IoU '
                f'{iou:.4f} (bound {BOX_IOU}), max |score diff| {dscore:.1e} '
                f'(bound {DET_SCORE_ATOL:g})')


def eager_reference(model, kind, scope, image):
    """What the unfused eager model predicts on ``image`` (BGR 0-255), through mmdet /
    mmseg / mmpretrain's own code, in the exported outputs' form."""
    from ..fixes import default_scope
    with torch.no_grad(), default_scope(scope):
        if kind == 'ssd':
            from mmdet.structures import DetDataSample
            shape = tuple(image.shape[2:])
            sample = DetDataSample(metainfo=dict(img_shape=shape, ori_shape=shape,
                                                 pad_shape=shape, scale_factor=(1., 1.)))
            data = model.data_preprocessor({'inputs': [image[0]], 'data_samples': [sample]})
            pred = model.predict(data['inputs'], data['data_samples'], rescale=False)[0]
            inst = pred.pred_instances
            return [inst.bboxes, inst.scores, inst.labels]
        return [EXPORTS[kind](model)(image)]


def deploy(config, checkpoint, out, shape=None, dynamic=False, force=False, fuse=True,
           image=None):
    """Export ``config`` + ``checkpoint`` to ``out`` (ONNX) and check it under ONNX
    Runtime against the unfused eager model on ``image``. Returns a dict of what was
    done and measured; raises ConfigError (one line) on bad input or failed parity."""
    from ..models.fusion import batchnorms, fuse_bn
    if osp.exists(out) and not force:
        raise ConfigError(f'{out!r} exists: pass --force to overwrite it, or another --out')
    model, cfg, scope = load_model(config, checkpoint)
    kind = model_kind(model)
    if dynamic and kind == 'ssd':
        raise ConfigError('--dynamic: SSD anchors are constants of the export shape; '
                          'export one model per input size (--shape H W)')
    shape = tuple(shape) if shape else default_shape(cfg, kind)
    x = read_image(image, shape)
    reference = eager_reference(model, kind, scope, x)
    deployed, folded = model, []
    if fuse:
        import copy
        folded = batchnorms(model)
        deployed, left = fuse_bn(copy.deepcopy(model))
        folded = [n for n in folded if n not in left]
    wrapper = EXPORTS[kind](deployed).eval()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    export_onnx(wrapper, x, out, dynamic=dynamic)
    ok, text = compare(kind, reference, run_onnx(out, x))
    result = dict(kind=kind, shape=shape, folded=len(folded), out=out, parity=text, ok=ok)
    if dynamic and ok:
        other = read_image(image, (shape[0] + 32, shape[1] + 32)).repeat(2, 1, 1, 1)
        ok, text = compare(kind, eager_reference(model, kind, scope, other),
                           run_onnx(out, other))
        result.update(ok=ok, dynamic_parity=f'batch 2 at {shape[0] + 32}x{shape[1] + 32}: '
                      f'{text}')
    if not result['ok']:
        raise ConfigError(f'{out} was written but does not match the eager model: '
                          f'{result.get("dynamic_parity", text)}')
    return result
