"""mmdet 3.3.0's ``SSDHead`` cannot run inference.

``BaseDenseHead._predict_by_feat_single`` asks ``self.loss_cls`` whether it has
``custom_cls_channels``; ``SSDHead`` computes its loss with ``F.cross_entropy`` and has
no ``loss_cls``, so ``predict`` raises ``AttributeError: 'SSDHead' object has no
attribute 'loss_cls'``. SSD scores are a softmax over ``num_classes + 1`` channels
(``use_sigmoid_cls=False``), which is what the base class does when ``loss_cls`` has
no custom channels. The fix gives ``SSDHead`` (and its subclasses) a class-level
``loss_cls = None`` so that lookup yields ``False`` and the softmax path runs.
"""


def fix_ssd_head_inference():
    """Apply the fix if mmdet's SSDHead still lacks ``loss_cls``; True if applied."""
    try:
        from mmdet.models.dense_heads import SSDHead
    except ImportError:  # mmdet not installed: nothing to fix
        return False
    if 'loss_cls' in vars(SSDHead) or hasattr(SSDHead, 'loss_cls'):
        return False
    SSDHead.loss_cls = None
    return True
