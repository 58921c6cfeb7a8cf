"""Which graph exports which model: :func:`model_kind` names a built model's kind
('classifier', 'segmentor', 'ssd', 'rcnn'), :data:`EXPORTS` maps each kind to its
wrapper (:mod:`.graphs`, :mod:`.detectors`)."""
from ..apis.config import ConfigError
from .detectors import RCNNExport, SSDExport
from .graphs import ClassifierExport, SegmentorExport


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


EXPORTS = {'classifier': ClassifierExport, 'segmentor': SegmentorExport, 'ssd': SSDExport,
           'rcnn': RCNNExport}
