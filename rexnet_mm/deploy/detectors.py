"""The exported graphs of detectors: mmdet's ``predict`` (one image, ``rescale=False``)
written in ONNX ops.

* SSD / SSDLite (mmdet ``SingleStageDetector`` with an ``SSDHead``): ``boxes`` ``K x 4``
  (x1, y1, x2, y2 in input pixels), ``scores`` ``K``, ``labels`` ``K`` int64, best first,
  with mmdet's per-level ``nms_pre``, ``score_thr``, zero-size box filter, class-wise NMS
  as ONNX ``NonMaxSuppression``, and ``max_per_img``;
* Faster R-CNN (mmdet ``TwoStageDetector`` with an ``RPNHead`` and RoIAlign, no mask
  head): the same three outputs, from the RPN's proposals (per-level ``nms_pre``, NMS
  within each level, ``max_per_img``), RoIAlign on the FPN level each proposal maps to
  (ONNX ``RoiAlign``), the box head and its class-wise NMS.

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
