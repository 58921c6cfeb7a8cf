"""Which graph exports which model: :func:`model_kind` names a built model's kind,
:data:`EXPORTS` maps each kind to its wrapper (:mod:`.graphs`, :mod:`.detectors`):

* 'classifier' (mmpretrain ``ImageClassifier``), 'segmentor' (mmseg ``EncoderDecoder``);
* 'ssd': SSD / SSDLite (an ``SSDHead``);
* 'rcnn': Faster R-CNN (an ``RPNHead``, a ``StandardRoIHead`` with a
  ``SingleRoIExtractor`` of average RoIAlign, no mask head): boxes;
* 'maskrcnn': Mask R-CNN (the same with an ``FCNMaskHead`` and its own such extractor):
  boxes and each detection's mask probabilities.

:data:`BATCHED` are the kinds ``batch=N`` exports (a fixed batch, padded outputs)."""
from ..apis.config import ConfigError
from .detectors import MaskRCNNExport, RCNNExport, SSDExport
from .graphs import ClassifierExport, SegmentorExport


def _avg_roialign(extractor):
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    layer = getattr(extractor, 'roi_layers', [None])[0]
    return isinstance(extractor, SingleRoIExtractor) and type(
        layer).__name__ == 'RoIAlign' and getattr(layer, 'pool_mode', 'avg') == 'avg'


def _two_stage_kind(model, name):
    from mmdet.models.dense_heads import RPNHead
    roi_head = model.roi_head
    head = type(roi_head).__name__
    if head != 'StandardRoIHead':
        raise ConfigError(f'{name} with a {head}: export is implemented for a '
                          f'StandardRoIHead (Faster R-CNN: rcnn, Mask R-CNN: maskrcnn), not '
                          f'for cascade or other RoI heads; the nearest that exports: a '
                          f'Mask R-CNN or Faster R-CNN config (configs/detection/mask-rcnn, '
                          f'faster-rcnn)')
    if not (isinstance(model.rpn_head, RPNHead) and _avg_roialign(
            roi_head.bbox_roi_extractor)) or roi_head.with_shared_head:
        raise ConfigError(f'{name}: two-stage export is implemented for an RPNHead '
                          f'and a SingleRoIExtractor with average RoIAlign (Faster '
                          f'R-CNN), not for this model')
    if not roi_head.with_mask:
        return 'rcnn'
    mask = type(roi_head.mask_head).__name__
    if mask != 'FCNMaskHead' or not _avg_roialign(roi_head.mask_roi_extractor):
        raise ConfigError(f'{name} with a {mask}: mask export is implemented for '
                          f'Mask R-CNN (an FCNMaskHead after average RoIAlign), not for '
                          f'this mask head; the nearest that exports: a Mask R-CNN config '
                          f'(configs/detection/mask-rcnn), or a Faster R-CNN one for boxes')
    return 'maskrcnn'


def model_kind(model):
    """'classifier', 'segmentor', 'ssd', 'rcnn' or 'maskrcnn'; a one-line error for
    other models."""
    name = type(model).__name__
    if hasattr(model, 'head') and hasattr(model, 'extract_feat') and name.endswith(
            'Classifier'):
        return 'classifier'
    if hasattr(model, 'decode_head'):
        return 'segmentor'
    if getattr(model, 'roi_head', None) is not None and hasattr(model, 'rpn_head'):
        return _two_stage_kind(model, name)
    from mmdet.models.dense_heads import SSDHead
    if isinstance(getattr(model, 'bbox_head', None), SSDHead):
        return 'ssd'
    raise ConfigError(f'{name}: export is implemented for classifiers, segmentors, '
                      f'SSD/SSDLite, Faster R-CNN and Mask R-CNN detectors (not for this '
                      f'model)')


EXPORTS = {'classifier': ClassifierExport, 'segmentor': SegmentorExport, 'ssd': SSDExport,
           'rcnn': RCNNExport, 'maskrcnn': MaskRCNNExport}

#: The kinds that export with a fixed batch (``tools/deploy.py --batch N``).
BATCHED = ('ssd', 'rcnn', 'maskrcnn')
