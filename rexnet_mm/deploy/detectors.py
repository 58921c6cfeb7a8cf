"""The exported graphs of detectors: mmdet's ``predict`` (``rescale=False``) written in
ONNX ops, one image per graph or a batch fixed at export.

* SSD / SSDLite (mmdet ``SingleStageDetector`` with an ``SSDHead``): ``boxes`` ``K x 4``
  (x1, y1, x2, y2 in input pixels), ``scores`` ``K``, ``labels`` ``K`` int64, best first,
  with mmdet's per-level ``nms_pre``, ``score_thr``, zero-size box filter, class-wise NMS
  as ONNX ``NonMaxSuppression``, and ``max_per_img``;
* Faster R-CNN (mmdet ``TwoStageDetector`` with an ``RPNHead`` and RoIAlign, no mask
  head): the same three outputs, from the RPN's proposals (per-level ``nms_pre``, NMS
  within each level, ``max_per_img``), RoIAlign on the FPN level each proposal maps to
  (ONNX ``RoiAlign``), the box head and its class-wise NMS;
* Mask R-CNN (the same with an ``FCNMaskHead``): those three and ``masks`` ``K x M x M``
  (M = 28 for mmdet's Mask R-CNN), each detection's mask probabilities inside its box:
  RoIAlign of the kept boxes as the ``mask_roi_extractor`` pools them, the mask head, the
  channel of the detection's label, sigmoid. mmdet's last step, pasting them into the
  image (bilinear ``grid_sample``) and thresholding at ``mask_thr_binary``, is
  :func:`rexnet_mm.deploy.masks.paste_masks`, outside the graph (numpy): the same
  probabilities then paste into the input (= mmdet's ``rescale=False``) or into the
  original image (= ``rescale=True``, which a mask pasted at the input size and resized
  cannot give), and the file outputs ``K x 28 x 28`` floats, not ``K x H x W``.

With ``batch=N`` (fixed at export) the graph takes ``N x 3 x H x W`` and runs the same
steps on each image (NMS per image) into mmdeploy's padded form: ``dets`` ``N x K x 5``
(x1, y1, x2, y2, score), ``labels`` ``N x K`` int64 (and ``masks`` ``N x K x M x M``),
K = ``max_per_img``, each image's detections best first, then rows of zeros with label
-1.

The anchors are constants of the export shape, so a detector exports at one input size.
NMS is mmdet's ``batched_nms``: one ONNX ``NonMaxSuppression`` over boxes moved apart by
class (or RPN level), as mmdet moves them.
"""
import torch

from ..apis.config import ConfigError
from .graphs import _Export


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


def _pad(t, k, value):
    """``t`` (``k' x ...``, k' <= k) padded with ``value`` rows to ``k x ...``."""
    return torch.cat([t, t.new_full((k, ) + tuple(t.shape[1:]), value)])[:k]


class _DetectorExport(_Export):
    """A detector's graph: :meth:`features` of the whole input, then :meth:`detect` per
    image; one image's outputs as they are (``outputs``), or with ``batch`` N images'
    padded to ``max_per_img`` (``dets``, ``labels``[, ``masks``]: module docstring)."""
    outputs = ('boxes', 'scores', 'labels')
    max_per_img = -1

    def __init__(self, model, batch=None):
        super().__init__(model)
        self.batch = batch
        if batch is not None:
            self.outputs = ('dets', 'labels') + self.outputs[3:]

    def forward(self, image):
        feats = self.features(self.pre(image))
        if self.batch is None:
            return self.detect(feats, 0, image.shape[2:])
        k = self.max_per_img
        per_image = [self.detect(feats, i, image.shape[2:]) for i in range(self.batch)]
        dets = [_pad(torch.cat([b, s[:, None]], 1), k, 0) for b, s, *_ in per_image]
        labels = [_pad(out[2], k, -1) for out in per_image]
        rest = [torch.stack([_pad(out[j], k, 0) for out in per_image])
                for j in range(3, len(per_image[0]))]
        return (torch.stack(dets), torch.stack(labels), *rest)


class SSDExport(_DetectorExport):
    """mmdet's ``SSDHead.predict`` (``rescale=False``) in exportable ops."""

    def __init__(self, model, batch=None):
        super().__init__(model, batch)
        self.cfg = model.bbox_head.test_cfg
        self.nms = _nms_cfg(self.cfg, 'model.test_cfg')
        self.max_per_img = self.cfg.max_per_img

    def features(self, x):
        return self.model.bbox_head(self.model.extract_feat(x))

    def detect(self, feats, i, shape):
        """Image ``i``'s boxes, scores, labels."""
        head, cfg = self.model.bbox_head, self.cfg
        cls_scores, bbox_preds = feats
        anchors = head.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores], device=cls_scores[0].device)
        boxes, scores, labels = [], [], []
        nms_pre = cfg.get('nms_pre', -1)
        for s, d, a in zip(cls_scores, bbox_preds, anchors):  # per level, as mmdet
            s = s[i].permute(1, 2, 0).reshape(-1, head.cls_out_channels).softmax(-1)[:, :-1]
            d = d[i].permute(1, 2, 0).reshape(-1, 4)
            flat = s.reshape(-1)
            # mmdet's filter_scores_and_topk takes the top nms_pre of the (anchor, class)
            # pairs above score_thr: the same as the top nms_pre of all, then the
            # threshold (below), with a size the trace can keep
            top, pair = flat.topk(flat.shape[0] if nms_pre <= 0 else
                                  min(nms_pre, flat.shape[0]))
            anchor = pair // head.num_classes
            boxes.append(_decode(head.bbox_coder, a[anchor], d[anchor], shape))
            scores.append(top)
            labels.append(pair % head.num_classes)
        boxes, scores, labels = torch.cat(boxes), torch.cat(scores), torch.cat(labels)
        valid = ((scores > cfg.get('score_thr', 0)) &
                 _min_size(boxes, cfg.get('min_bbox_size', -1))).nonzero()[:, 0]
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = _batched_nms(boxes, scores, labels, self.nms, cfg.max_per_img)
        return boxes[keep], scores[keep], labels[keep]


class RCNNExport(_DetectorExport):
    """mmdet's two-stage ``predict`` (Faster R-CNN: RPN, RoIAlign per FPN level, the box
    head and its class-wise NMS; ``rescale=False``) in exportable ops."""

    def __init__(self, model, batch=None):
        super().__init__(model, batch)
        self.rpn_cfg, self.rcnn_cfg = model.rpn_head.test_cfg, model.roi_head.test_cfg
        self.rpn_nms = _nms_cfg(self.rpn_cfg, 'model.test_cfg.rpn')
        self.rcnn_nms = _nms_cfg(self.rcnn_cfg, 'model.test_cfg.rcnn')
        self.max_per_img = self.rcnn_cfg.max_per_img

    def features(self, x):
        return self.model.extract_feat(x)

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

    def roi_features(self, feats, boxes, extractor):
        """SingleRoIExtractor ``extractor``: each box's RoIAlign on the FPN level its size
        maps to."""
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

    def detect(self, feats, i, shape):
        """Image ``i``'s boxes, scores, labels."""
        head, cfg = self.model.roi_head.bbox_head, self.rcnn_cfg
        feats = [f[i:i + 1] for f in feats]
        proposals = self.proposals(feats, shape)
        cls_score, bbox_pred = head(self.roi_features(
            feats, proposals, self.model.roi_head.bbox_roi_extractor))
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
        labels = torch.arange(classes, device=scores.device).expand_as(scores)
        boxes, scores, labels = boxes.reshape(-1, 4), scores.reshape(-1), labels.reshape(-1)
        valid = (scores > cfg.score_thr).nonzero()[:, 0]  # multiclass_nms
        boxes, scores, labels = boxes[valid], scores[valid], labels[valid]
        keep = _batched_nms(boxes, scores, labels, self.rcnn_nms, cfg.max_per_img)
        return boxes[keep], scores[keep], labels[keep]


class MaskRCNNExport(RCNNExport):
    """mmdet's Mask R-CNN ``predict`` (``rescale=False``) in exportable ops: the boxes of
    :class:`RCNNExport`, then the mask head on them, up to the paste (module docstring)."""
    outputs = ('boxes', 'scores', 'labels', 'masks')

    def detect(self, feats, i, shape):
        """Image ``i``'s boxes, scores, labels and ``K x M x M`` mask probabilities."""
        boxes, scores, labels = super().detect(feats, i, shape)
        roi_head = self.model.roi_head
        head = roi_head.mask_head
        logits = head(self.roi_features([f[i:i + 1] for f in feats], boxes,
                                        roi_head.mask_roi_extractor))
        if head.class_agnostic:
            logits = logits[:, :1]
        else:  # each detection's own class (no traced count: gather, not arange)
            index = labels[:, None, None, None].expand(-1, 1, *logits.shape[2:])
            logits = logits.gather(1, index)
        return boxes, scores, labels, logits[:, 0].sigmoid()
