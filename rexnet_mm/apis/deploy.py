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
  ``NonMaxSuppression``, and ``max_per_img``;
* Faster R-CNN (mmdet ``TwoStageDetector`` with an ``RPNHead`` and RoIAlign, no mask
  head): the same three outputs, from the RPN's proposals (per-level ``nms_pre``, NMS
  within each level, ``max_per_img``), RoIAlign on the FPN level each proposal maps to
  (ONNX ``RoiAlign``), the box head and its class-wise NMS.

The detectors' anchors are constants of the export shape, so ``--dynamic`` is refused
for them. NMS is mmdet's ``batched_nms``: one ONNX ``NonMaxSuppression`` over boxes
moved apart by class (or RPN level), as mmdet moves them.

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

from ..fixes.upstream import swaps_channels
from .config import ConfigError, find_config

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
        flip = swaps_channels(preprocessor)
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


class _Export(nn.Module):
    """A model with its normalisation in front; ``outputs`` names what forward returns."""
    outputs = ()

    def __init__(self, model):
        super().__init__()
        self.pre, self.model = _Normalize(model.data_preprocessor), model


class ClassifierExport(_Export):
    outputs = ('scores', )

    def forward(self, image):
        return self.model.head(self.model.extract_feat(self.pre(image))).softmax(-1)


class SegmentorExport(_Export):
    outputs = ('labels', )

    def forward(self, image):
        logits = self.model.forward(self.pre(image), mode='tensor')
        logits = F.interpolate(logits, size=image.shape[2:], mode='bilinear',
                               align_corners=self.model.decode_head.align_corners)
        return logits.argmax(1)


class _NMS(torch.autograd.Function):
    """NMS of one image: ``boxes`` ``1 x M x 4``, ``scores`` ``1 x 1 x M`` -> ``K x 3``
    (0, 0, box index), by descending score, at most ``max_num``. Eager: torchvision;
    exported: ONNX NonMaxSuppression."""

    @staticmethod
    def forward(ctx, boxes, scores, max_num, iou_thr):
        from torchvision.ops import nms
        idx = nms(boxes[0], scores[0, 0], iou_thr)[:max_num]
        zero = torch.zeros_like(idx)
        return torch.stack([zero, zero, idx], 1)

    @staticmethod
    def symbolic(g, boxes, scores, max_num, iou_thr):
        def const(v, dtype):
            return g.op('Constant', value_t=torch.tensor([v], dtype=dtype))
        return g.op('NonMaxSuppression', boxes, scores, const(max_num, torch.int64),
                    const(iou_thr, torch.float32))


class _RoIAlign(torch.autograd.Function):
    """mmcv's RoIAlign (average) of ``boxes`` (``K x 4``, image ``batch``) on one feature
    map; exported as ONNX RoiAlign (opset 16: ``half_pixel`` is mmcv's ``aligned``)."""

    @staticmethod
    def forward(ctx, feats, boxes, batch, size, scale, ratio, aligned):
        from mmcv.ops import roi_align
        rois = torch.cat([batch[:, None].to(boxes), boxes], 1)
        return roi_align(feats, rois, size, scale, ratio, 'avg', aligned)

    @staticmethod
    def symbolic(g, feats, boxes, batch, size, scale, ratio, aligned):
        return g.op('RoiAlign', feats, boxes, batch, mode_s='avg',
                    coordinate_transformation_mode_s='half_pixel' if aligned else
                    'output_half_pixel', output_height_i=size[0], output_width_i=size[1],
                    sampling_ratio_i=ratio, spatial_scale_f=scale)


def _nms_cfg(cfg, where):
    """``cfg.nms`` checked: plain NMS is what exports (as ONNX NonMaxSuppression)."""
    nms = cfg.get('nms') or {}
    if nms.get('type', 'nms') != 'nms':
        raise ConfigError(f'{where}.nms.type={nms["type"]!r}: only plain NMS exports (set '
                          f'{where}.nms.type=nms)')
    return nms


def _batched_nms(boxes, scores, idxs, nms, max_num):
    """mmdet's ``batched_nms`` in exportable ops: NMS within each ``idxs`` group (class
    or level) by moving each group's boxes ``idx * (max coordinate + 1)`` apart, as mmdet
    does; indices kept, by descending score, at most ``max_num`` (all for -1)."""
    if not nms.get('class_agnostic', False):
        top = torch.cat([boxes.reshape(-1), boxes.new_zeros(1)]).max()  # 0: none left
        boxes = boxes + (idxs.to(boxes) * (top + 1))[:, None]
    max_num = max_num if max_num and max_num > 0 else 2**31 - 1
    return _NMS.apply(boxes[None], scores[None, None], max_num,
                      float(nms.get('iou_threshold', 0.5)))[:, 2]


def _decode(coder, anchors, deltas, shape):
    """``coder``'s boxes: the eager ``delta2bbox``, because mmdet 3.3.0's ``decode``
    switches to ``onnx_delta2bbox`` under export, which imports the removed
    ``mmdet.core``."""
    from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import delta2bbox
    if type(coder).__name__ != 'DeltaXYWHBBoxCoder':
        raise ConfigError(f'{type(coder).__name__}: only DeltaXYWHBBoxCoder boxes export')
    return delta2bbox(anchors, deltas, coder.means, coder.stds, shape,
                      clip_border=coder.clip_border, add_ctr_clamp=coder.add_ctr_clamp,
                      ctr_clamp=coder.ctr_clamp)


def _min_size(boxes, min_size):
    """mmdet's ``min_bbox_size`` filter: width and height above it (all for < 0)."""
    if min_size < 0:
        return torch.ones_like(boxes[:, 0], dtype=torch.bool)
    return (boxes[:, 2] - boxes[:, 0] > min_size) & (boxes[:, 3] - boxes[:, 1] > min_size)


class SSDExport(_Export):
    """mmdet's ``SSDHead.predict`` (one image, ``rescale=False``) in exportable ops."""
    outputs = ('boxes', 'scores', 'labels')

    def __init__(self, model):
        super().__init__(model)
        self.cfg = model.bbox_head.test_cfg
        self.nms = _nms_cfg(self.cfg, 'model.test_cfg')

    def forward(self, image):
        head, cfg = self.model.bbox_head, self.cfg
        cls_scores, bbox_preds = head(self.model.extract_feat(self.pre(image)))
        anchors = head.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores], device=image.device)
        boxes, scores, labels = [], [], []
        nms_pre = cfg.get('nms_pre', -1)
        for s, d, a in zip(cls_scores, bbox_preds, anchors):  # per level, as mmdet
            s = s[0].permute(1, 2, 0).reshape(-1, head.cls_out_channels).softmax(-1)[:, :-1]
            d = d[0].permute(1, 2, 0).reshape(-1, 4)
            flat = s.reshape(-1)
            # mmdet's filter_scores_and_topk takes the top nms_pre of the (anchor, class)
            # pairs above score_thr: the same as the top nms_pre of all, then the
            # threshold (below), with a size the trace can keep
            top, pair = flat.topk(flat.shape[0] if nms_pre <= 0 else
                                  min(nms_pre, flat.shape[0]))
            anchor = pair // head.num_classes
            boxes.append(_decode(head.bbox_coder, a[anchor], d[anchor], image.shape[2:]))
            scores.append(top)
            labels.append(pair % head.num_classes)
        boxes, scores, labels = torch.cat(boxes), torch.cat(scores), torch.cat(labels)
        valid = ((scores > cfg.get('score_thr', 0)) &
                 _min_size(boxes, cfg.get('min_bbox_size', -1))).nonzero()[:, 0]
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = _batched_nms(boxes, scores, labels, self.nms, cfg.max_per_img)
        return boxes[keep], scores[keep], labels[keep]


class RCNNExport(_Export):
    """mmdet's two-stage ``predict`` (Faster R-CNN: RPN, RoIAlign per FPN level, the box
    head and its class-wise NMS; one image, ``rescale=False``) in exportable ops."""
    outputs = ('boxes', 'scores', 'labels')

    def __init__(self, model):
        super().__init__(model)
        self.rpn_cfg, self.rcnn_cfg = model.rpn_head.test_cfg, model.roi_head.test_cfg
        self.rpn_nms = _nms_cfg(self.rpn_cfg, 'model.test_cfg.rpn')
        self.rcnn_nms = _nms_cfg(self.rcnn_cfg, 'model.test_cfg.rcnn')

    def proposals(self, feats, shape):
        """RPNHead.predict: per level the top ``nms_pre`` anchors, decoded, NMS within
        each level, the best ``max_per_img``."""
        rpn, cfg = self.model.rpn_head, self.rpn_cfg
        cls_scores, bbox_preds = rpn(feats)
        anchors = rpn.prior_generator.grid_priors([s.shape[-2:] for s in cls_scores],
                                                  device=feats[0].device)
        boxes, scores, levels = [], [], []
        nms_pre = cfg.get('nms_pre', -1)
        for level, (s, d, a) in enumerate(zip(cls_scores, bbox_preds, anchors)):
            s = s[0].permute(1, 2, 0)
            s = s.reshape(-1).sigmoid() if rpn.use_sigmoid_cls else \
                s.reshape(-1, 2).softmax(-1)[:, 0]
            d = d[0].permute(1, 2, 0).reshape(-1, 4)
            if 0 < nms_pre < s.shape[0]:
                s, top = s.topk(nms_pre)
                d, a = d[top], a[top]
            boxes.append(_decode(rpn.bbox_coder, a, d, shape))
            scores.append(s)
            levels.append(torch.full_like(s, level, dtype=torch.long))
        boxes, scores, levels = torch.cat(boxes), torch.cat(scores), torch.cat(levels)
        valid = _min_size(boxes, cfg.get('min_bbox_size', -1)).nonzero()[:, 0]
        boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
        return boxes[_batched_nms(boxes, scores, levels, self.rpn_nms, cfg.max_per_img)]

    def roi_features(self, feats, boxes):
        """SingleRoIExtractor: each box's RoIAlign on the FPN level its size maps to."""
        extractor = self.model.roi_head.bbox_roi_extractor
        feats = feats[:extractor.num_inputs]
        rois = torch.cat([torch.zeros_like(boxes[:, :1]), boxes], 1)  # no traced count
        target = extractor.map_roi_levels(rois, len(feats))
        parts, order = [], []
        for level, (x, layer) in enumerate(zip(feats, extractor.roi_layers)):
            inds = (target == level).nonzero()[:, 0]
            parts.append(_RoIAlign.apply(x, boxes[inds], torch.zeros_like(inds),
                                         tuple(layer.output_size),
                                         float(layer.spatial_scale),
                                         int(layer.sampling_ratio), bool(layer.aligned)))
            order.append(inds)
        return torch.cat(parts)[torch.cat(order).argsort()]

    def forward(self, image):
        head, cfg = self.model.roi_head.bbox_head, self.rcnn_cfg
        shape = image.shape[2:]
        feats = self.model.extract_feat(self.pre(image))
        proposals = self.proposals(feats, shape)
        cls_score, bbox_pred = head(self.roi_features(feats, proposals))
        # K x classes (the last column, background, dropped); K varies with the image,
        # so no size below is read from a tensor (tracing would keep it as a constant)
        scores = cls_score.softmax(-1)[:, :-1]
        classes = head.num_classes
        if head.reg_class_agnostic:
            boxes = _decode(head.bbox_coder, proposals, bbox_pred, shape)[:, None].expand(
                -1, classes, 4)
        else:
            per_class = proposals[:, None].expand(-1, classes, 4).reshape(-1, 4)
            boxes = _decode(head.bbox_coder, per_class, bbox_pred.reshape(-1, 4),
                            shape).reshape(-1, classes, 4)
        labels = torch.arange(classes, device=image.device).expand_as(scores)
        boxes, scores, labels = boxes.reshape(-1, 4), scores.reshape(-1), labels.reshape(-1)
        valid = (scores > cfg.score_thr).nonzero()[:, 0]  # multiclass_nms
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = _batched_nms(boxes, scores, labels, self.rcnn_nms, cfg.max_per_img)
        return boxes[keep], scores[keep], labels[keep]


def model_kind(model):
    """'classifier', 'segmentor', 'ssd' or 'rcnn'; a one-line error for other models."""
    name = type(model).__name__
    if hasattr(model, 'head') and hasattr(model, 'extract_feat') and name.endswith(
            'Classifier'):
        return 'classifier'
    if hasattr(model, 'decode_head'):
        return 'segmentor'
    roi_head = getattr(model, 'roi_head', None)
    if roi_head is not None and hasattr(model, 'rpn_head'):
        from mmdet.models.dense_heads import RPNHead
        from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
        layer = getattr(getattr(roi_head, 'bbox_roi_extractor', None), 'roi_layers',
                        [None])[0]
        if getattr(roi_head, 'with_mask', False):
            raise ConfigError(f'{name} with a mask head: export is implemented for the '
                              f'boxes of two-stage detectors (a Faster R-CNN config), '
                              f'not for masks')
        if not (isinstance(model.rpn_head, RPNHead) and isinstance(
                roi_head.bbox_roi_extractor, SingleRoIExtractor) and type(
                    layer).__name__ == 'RoIAlign' and getattr(layer, 'pool_mode',
                                                              'avg') == 'avg'):
            raise ConfigError(f'{name}: two-stage export is implemented for an RPNHead '
                              f'and a SingleRoIExtractor with average RoIAlign (Faster '
                              f'R-CNN), not for this model')
        return 'rcnn'
    from mmdet.models.dense_heads import SSDHead
    if isinstance(getattr(model, 'bbox_head', None), SSDHead):
        return 'ssd'
    raise ConfigError(f'{name}: export is implemented for classifiers, segmentors, '
                      f'SSD/SSDLite and Faster R-CNN detectors (not for this model)')


DETECTORS = ('ssd', 'rcnn')


EXPORTS = {'classifier': ClassifierExport, 'segmentor': SegmentorExport, 'ssd': SSDExport,
           'rcnn': RCNNExport}


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
    config = find_config(config)
    model, cfg, scope = build_random_model(config)
    with default_scope(scope), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                                   logger='silent')
        except RuntimeError as exc:
            first = str(exc).splitlines()
            raise ConfigError(f'checkpoint {checkpoint!r} does not fit {osp.basename(config)} '
                              f'({" ".join(first[:2])[:200]}): pass the config it was '
                              f'trained with') from None
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    model.dataset_meta = (meta or {}).get('dataset_meta') or getattr(model, 'dataset_meta',
                                                                     None)
    return model.eval(), cfg, scope


def default_shape(cfg, kind):
    """(H, W): 224 x 224 for classifiers, else the size the config tests at (the one
    tools/analysis/get_flops.py uses: mmseg's crop size, the test pipeline's resize)."""
    from ..analysis.complexity import default_shape as test_shape
    return (224, 224) if kind == 'classifier' else tuple(int(v) for v in test_shape(cfg))


def as_input(img, shape):
    """The graph's input for an ``H x W x 3`` uint8 BGR array: ``1 x 3 x H x W`` float,
    resized to ``shape`` (H, W)."""
    import mmcv
    import numpy as np
    img = mmcv.imresize(img, (shape[1], shape[0]))
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()


def read_image(path, shape):
    """:func:`as_input` of ``path``, or of a generated shapes image
    (rexnet_mm.synthetic) when ``path`` is None."""
    import mmcv
    import numpy as np
    if path is None:
        from ..synthetic.shapes_coco import render_image
        return as_input(render_image(np.random.default_rng(0), size=max(shape))[0], shape)
    if not osp.isfile(path):
        raise ConfigError(f'image {path!r} does not exist')
    img = mmcv.imread(path)
    if img is None:
        raise ConfigError(f'cannot decode image {path!r}')
    return as_input(img, shape)


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


def export_onnx(wrapper, image, out, dynamic=False, metadata=None):
    """Trace ``wrapper`` on ``image`` into ``out`` (written whole or not at all), with
    ``metadata`` (str -> str) in the file's ``metadata_props``."""
    from ..fixes import atomic_path
    axes = None
    if dynamic:
        axes = {'image': {0: 'batch', 2: 'height', 3: 'width'}}
        axes.update({name: {0: 'batch'} for name in wrapper.outputs})
        if 'labels' in wrapper.outputs and isinstance(wrapper, SegmentorExport):
            axes['labels'] = {0: 'batch', 1: 'height', 2: 'width'}
    with atomic_path(out) as tmp, torch.no_grad(), warnings.catch_warnings(), \
            _traceable_upsample():
        warnings.simplefilter('ignore')
        torch.onnx.export(wrapper, (image, ), tmp, input_names=['image'],
                          output_names=list(wrapper.outputs), dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)
        if metadata:
            import onnx
            proto = onnx.load(tmp)
            onnx.helper.set_model_props(proto, metadata)
            onnx.save(proto, tmp)


def ort_session(path, threads=None, profile_prefix=None):
    """An ONNX Runtime session of ``path`` on the CPU execution provider; with
    ``threads``, that many intra-op threads which sleep between runs; with
    ``profile_prefix``, ONNX Runtime's profiler on (its trace file starts with it)."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    if profile_prefix:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # ONNX Runtime's threads spin-wait after a run by default, taking the cores from
        # whatever runs next (a benchmark's next variant: eager PyTorch at batch 1 looked
        # 1.2-1.8x slower)
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def run_onnx(path, image):
    """ONNX Runtime (CPU execution provider) outputs of ``path`` on ``image``."""
    outputs = ort_session(path).run(None, {'image': image.numpy()})
    return [torch.from_numpy(o) for o in outputs]


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
    from torchvision.ops import box_iou
    # each of eager's top k is matched to ONNX Runtime's detection of the same label with
    # the best IoU, not to the one of the same rank: detections with equal scores (to
    # float precision) come in either order
    iou = box_iou(boxes[:k], outputs[0]) * (labels[:k, None] == outputs[2][None])
    best, match = iou.max(1)
    dscore = (outputs[1][match] - scores[:k]).abs().max().item()
    ok = best.min().item() >= BOX_IOU and dscore <= DET_SCORE_ATOL
    return ok, (f'top {k} detections matched (same label, best IoU): min IoU '
                f'{best.min().item():.4f} (bound {BOX_IOU}), max |score diff| '
                f'{dscore:.1e} (bound {DET_SCORE_ATOL:g})')


def _check(kind, reference, out, image):
    """:func:`compare` on another input; ``(False, why)`` where ONNX Runtime fails."""
    try:
        outputs = run_onnx(out, image)
    except Exception as exc:  # noqa: BLE001 ORT's own message
        return False, f'ONNX Runtime fails on it ({str(exc).splitlines()[0][:200]})'
    return compare(kind, reference, outputs)


def det_sample(shape):
    """An mmdet data sample of one unresized, unpadded ``shape`` (H, W) image."""
    from mmdet.structures import DetDataSample
    shape = tuple(int(v) for v in shape)
    return DetDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
                                       scale_factor=(1., 1.)))


def det_inputs(model, image):
    """``(inputs, data_samples)`` for a detector's ``predict``: ``image`` (``1 x 3 x H x
    W``, BGR 0-255) through the model's own data preprocessor."""
    data = model.data_preprocessor({'inputs': [image[0]],
                                    'data_samples': [det_sample(image.shape[2:])]})
    return data['inputs'], data['data_samples']


def eager_reference(model, kind, scope, image):
    """What the unfused eager model predicts on ``image`` (BGR 0-255), through mmdet /
    mmseg / mmpretrain's own code, in the exported outputs' form."""
    from ..fixes import default_scope
    with torch.no_grad(), default_scope(scope):
        if kind in DETECTORS:
            pred = model.predict(*det_inputs(model, image), rescale=False)[0]
            inst = pred.pred_instances
            return [inst.bboxes, inst.scores, inst.labels]
        return [EXPORTS[kind](model)(image)]


def int8_path(out):
    """``model.onnx`` -> ``model.int8.onnx``."""
    stem, ext = osp.splitext(out)
    return f'{stem}.int8{ext or ".onnx"}'


# --------------------------------------------------------------------------- the file's contract

#: What each output holds, by model kind (also in the file's metadata, ``outputs``).
OUTPUTS = {
    'classifier': [('scores', 'N x classes', 'float32 softmax scores')],
    'segmentor': [('labels', 'N x H x W', 'int64 class index per pixel of the input')],
    'ssd': [('boxes', 'K x 4', 'float32 x1, y1, x2, y2 in pixels of the resized input'),
            ('scores', 'K', 'float32, best first, every detection >= score_thr'),
            ('labels', 'K', 'int64 index into classes')],
}
OUTPUTS['rcnn'] = OUTPUTS['ssd']


def model_classes(model, cfg):
    """The class names: the checkpoint's ``dataset_meta``, else the config's test dataset
    (``metainfo.classes``, else its dataset class's), else None."""
    meta = getattr(model, 'dataset_meta', None) or {}
    if meta.get('classes'):
        return [str(c) for c in meta['classes']]
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    while isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ...
        dataset = dataset['dataset']
    classes = (dataset.get('metainfo') or {}).get('classes')
    if not classes and dataset.get('type'):
        from .checks import _dataset_class
        cls = _dataset_class(dataset, cfg.get('default_scope') or 'mmdet')
        classes = getattr(cls, 'METAINFO', {}).get('classes')
    return [str(c) for c in classes] if classes else None


def score_threshold(model, kind):
    """The detector's ``score_thr`` (what the graph keeps), else None."""
    if kind == 'ssd':
        return float(model.bbox_head.test_cfg.get('score_thr', 0))
    if kind == 'rcnn':
        return float(model.roi_head.test_cfg.get('score_thr', 0))
    return None


def export_metadata(model, cfg, kind, shape, dynamic):
    """The contract of the exported file, as ONNX ``metadata_props`` (strings; JSON for
    lists): what goes in, how an image is resized into it, what comes out and in which
    frame. :class:`rexnet_mm.apis.onnx_predictor.OnnxPredictor` reads it back."""
    import json

    from .. import __version__
    h, w = (int(v) for v in shape)
    meta = {
        'producer': f'rexnet_mm {__version__} (tools/deploy.py)',
        'model_kind': kind,
        'classes': json.dumps(model_classes(model, cfg)),
        'input_name': 'image',
        'input_layout': 'NCHW float32, N x 3 x H x W',
        'input_size': json.dumps([h, w]),
        'input_dynamic': json.dumps(bool(dynamic)),
        'color_order': 'BGR',
        'input_range': '0-255 (what cv2.imread / mmcv.imread give); mean/std and BGR->RGB '
                       'are inside the graph',
        'resize': json.dumps(dict(
            size=[h, w], keep_ratio=False, interpolation='bilinear', padding=None,
            how=f'cv2.resize(img, ({w}, {h}), interpolation=cv2.INTER_LINEAR): the whole '
                f'image stretched to {w}x{h} (W x H), no crop, no padding')),
        'outputs': json.dumps([dict(name=n, shape=s, meaning=m) for n, s, m in OUTPUTS[kind]]),
    }
    if kind in DETECTORS:
        meta['box_frame'] = (f'pixels of the resized {w}x{h} input, x1 y1 x2 y2; in the '
                             f'original W0 x H0 image: x * W0 / {w}, y * H0 / {h}')
        meta['score_thr'] = json.dumps(score_threshold(model, kind))
    elif kind == 'segmentor':
        meta['label_frame'] = ('pixels of the resized input; in the original image: resize '
                               'the label map back (nearest)')
    return meta



def deploy(config, checkpoint, out, shape=None, dynamic=False, force=False, fuse=True,
           image=None, int8_calib=None, calib_images=300):
    """Export ``config`` + ``checkpoint`` to ``out`` (ONNX) and check it under ONNX
    Runtime against the unfused eager model on ``image``; with ``int8_calib`` (a folder
    of images) also write the INT8 model :func:`int8_path` calibrated on up to
    ``calib_images`` of them. Returns a dict of what was done and measured; raises
    ConfigError (one line) on bad input or failed parity."""
    from ..models.fusion import batchnorms, fuse_bn
    for path in [out] + ([int8_path(out)] if int8_calib else []):
        if osp.exists(path) and not force:
            raise ConfigError(f'{path!r} exists: pass --force to overwrite it, or another '
                              f'--out')
    if int8_calib and not osp.isdir(int8_calib):
        raise ConfigError(f'--int8 {int8_calib!r} is not a folder of calibration images')
    model, cfg, scope = load_model(config, checkpoint)
    kind = model_kind(model)
    if dynamic and kind in DETECTORS:
        raise ConfigError("--dynamic: a detector's anchors are constants of the export "
                          'shape; export one model per input size (--shape H W)')
    shape = tuple(shape) if shape else default_shape(cfg, kind)
    x = read_image(image, shape)
    reference = eager_reference(model, kind, scope, x)
    deployed, folded = model, 0
    if fuse:
        import copy
        deployed, left = fuse_bn(copy.deepcopy(model))
        folded = len(batchnorms(model)) - len(left)
    metadata = export_metadata(model, cfg, kind, shape, dynamic)
    export_onnx(EXPORTS[kind](deployed).eval(), x, out, dynamic=dynamic, metadata=metadata)
    outputs = run_onnx(out, x)
    ok, text = compare(kind, reference, outputs)
    result = dict(kind=kind, shape=shape, folded=folded, out=out, parity=text, ok=ok,
                  metadata=metadata)
    if dynamic and ok:
        other = read_image(image, (shape[0] + 32, shape[1] + 32)).repeat(2, 1, 1, 1)
        ok, text = _check(kind, eager_reference(model, kind, scope, other), out, other)
        result.update(ok=ok, second=f'batch 2 at {shape[0] + 32}x{shape[1] + 32}: {text}')
    elif kind in DETECTORS and ok:
        # a detector's graph has sizes that vary with the image (boxes above the score
        # threshold, proposals per FPN level): a size kept as a traced constant breaks it
        # on any other image, so a second one is checked (the first, mirrored)
        other = x.flip(3).contiguous()
        ok, text = _check(kind, eager_reference(model, kind, scope, other), out, other)
        result.update(ok=ok, second=f'mirrored image: {text}')
    if not result['ok']:
        raise ConfigError(f'{out} was written but does not match the eager model: '
                          f'{result.get("second", text)}')
    if int8_calib:
        images = calibration_images(int8_calib, shape, calib_images)
        quantized = int8_path(out)
        nodes = quantize_int8(out, quantized, images)
        result['int8'] = dict(out=quantized, images=len(images), quantized=nodes,
                              agreement=int8_agreement(kind, outputs,
                                                       run_onnx(quantized, x)))
    return result


# --------------------------------------------------------------------------- INT8

#: ONNX operators quantized: the convolutions and matrix products (the FLOPs). The rest
#: (softmax, box decoding, TopK, NonMaxSuppression) stays float.
INT8_OPS = ('Conv', 'MatMul', 'Gemm')


def calibration_images(folder, shape, limit=300):
    """Up to ``limit`` images of ``folder`` (sorted names), as the graph's input."""
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(('.jpg', '.jpeg', '.png', '.bmp')))[:limit]
    if not names:
        raise ConfigError(f'--calib {folder!r} has no .jpg/.png/.bmp image')
    return [read_image(osp.join(folder, n), shape) for n in names]


#: ONNX Runtime's quantizer logs these on the root logger (``logging.warning``): advice a
#: user of tools/deploy.py cannot act on. Its model pre-processing (shape inference and
#: graph optimisation) is not needed for our graphs, whose shapes are known; a bias that
#: is not an initializer (a computed one) simply stays float.
QUANTIZER_NOISE = ('Please consider to run pre-processing before quantization',
                   'Please consider pre-processing before quantization',
                   "Expected bias '")


class _QuantizerNoise:
    """A logging filter that drops :data:`QUANTIZER_NOISE` from onnxruntime.quantization."""

    @staticmethod
    def filter(record):
        return not (f'{os.sep}onnxruntime{os.sep}quantization{os.sep}' in record.pathname
                    and str(record.msg).startswith(QUANTIZER_NOISE))


@contextlib.contextmanager
def _quiet_quantizer():
    import logging
    root, noise = logging.getLogger(), _QuantizerNoise()
    root.addFilter(noise)
    try:
        yield
    finally:
        root.removeFilter(noise)


def quantize_int8(fp32, out, images):
    """Post-training static quantization of ``fp32`` (ONNX) into ``out`` with ONNX
    Runtime: QDQ format, int8 per-channel weights, uint8 activations calibrated (min/max)
    on ``images``, :data:`INT8_OPS` only. Returns the number of quantized nodes; a
    one-line error where ONNX Runtime cannot quantize the model."""
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.images = iter(images)

        def get_next(self):
            x = next(self.images, None)
            return None if x is None else {'image': x.numpy()}

    from ..fixes import atomic_path
    try:
        with atomic_path(out) as tmp, warnings.catch_warnings(), _quiet_quantizer():
            warnings.simplefilter('ignore')
            quantize_static(fp32, tmp, Reader(), quant_format=QuantFormat.QDQ,
                            per_channel=True, weight_type=QuantType.QInt8,
                            activation_type=QuantType.QUInt8,
                            op_types_to_quantize=list(INT8_OPS))
    except Exception as exc:  # ORT's own messages; the fp32 model is kept
        raise ConfigError(f'INT8 quantization of {fp32} failed ({type(exc).__name__}: '
                          f'{str(exc).splitlines()[0][:160] if str(exc) else ""}); the '
                          f'float model is unchanged') from None
    import onnx
    return sum(n.op_type == 'QuantizeLinear' for n in onnx.load(out).graph.node)


#: A detection counts as confident from this score on (:func:`int8_agreement`).
CONFIDENT = 0.3


def int8_agreement(kind, fp32_outputs, int8_outputs):
    """How close INT8 stays to float on one input, in [0, 1] (1: the same): the Pearson
    correlation of a classifier's scores; the share of a segmentor's pixels with the
    same label; for a detector, the share of float's confident detections (score >=
    :data:`CONFIDENT`) that INT8 also finds (same label, IoU >= 0.5)."""
    if kind == 'segmentor':
        return (int8_outputs[0] == fp32_outputs[0]).float().mean().item()
    if kind == 'classifier':
        a, b = fp32_outputs[0].flatten(), int8_outputs[0].flatten()
        return torch.corrcoef(torch.stack([a, b]))[0, 1].item()
    from torchvision.ops import box_iou
    keep = fp32_outputs[1] >= CONFIDENT
    boxes, labels = fp32_outputs[0][keep], fp32_outputs[2][keep]
    if not len(boxes):
        return 1.0
    if not len(int8_outputs[0]):
        return 0.0
    iou = box_iou(boxes, int8_outputs[0]) * (labels[:, None] == int8_outputs[2][None])
    return (iou.max(1).values >= 0.5).float().mean().item()


# --------------------------------------------------------------------------- COCO

def coco_eval_onnx(path, ann_file, img_dir, shape, out_json):
    """Detect every image of ``ann_file`` with the exported SSD ``path`` (ONNX Runtime),
    boxes rescaled to the original images, written as COCO results ``out_json``; returns
    pycocotools' 12 bbox numbers (:func:`rexnet_mm.apis.evaluation.evaluate`)."""
    import json

    import mmcv

    from .evaluation import evaluate
    with open(ann_file) as f:
        coco = json.load(f)
    cat_ids = sorted(c['id'] for c in coco['categories'])
    session = ort_session(path)
    results = []
    for info in coco['images']:
        img = mmcv.imread(osp.join(img_dir, info['file_name']))
        h0, w0 = img.shape[:2]
        boxes, scores, labels = session.run(None, {'image': as_input(img, shape).numpy()})
        sx, sy = w0 / shape[1], h0 / shape[0]
        for (x1, y1, x2, y2), s, c in zip(boxes, scores, labels):
            results.append(dict(image_id=info['id'], category_id=cat_ids[int(c)],
                                bbox=[float(x1 * sx), float(y1 * sy), float((x2 - x1) * sx),
                                      float((y2 - y1) * sy)], score=float(s)))
    with open(out_json, 'w') as f:
        json.dump(results, f)
    return evaluate(ann_file, bbox=out_json, verbose=False)['bbox']
