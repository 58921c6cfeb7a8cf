"""mmdet 3.3.0's ``SSDHead``: it cannot run inference, and distributed training
normalises its loss per process (see :func:`fix_ssd_distributed_loss`).

``BaseDenseHead._predict_by_feat_single`` asks ``self.loss_cls`` whether it has
``custom_cls_channels``; ``SSDHead`` computes its loss with ``F.cross_entropy`` and has
no ``loss_cls``, so ``predict`` raises ``AttributeError: 'SSDHead' object has no
attribute 'loss_cls'``. SSD scores are a softmax over ``num_classes + 1`` channels
(``use_sigmoid_cls=False``), which is what the base class does when ``loss_cls`` has
no custom channels. The fix gives ``SSDHead`` (and its subclasses) a class-level
``loss_cls = None`` so that lookup yields ``False`` and the softmax path runs.
"""
import torch


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


def _global_avg_factor(get_targets):
    """``get_targets`` whose ``avg_factor`` (element 4 of AnchorHead's tuple: the
    positive anchors of this process's batch) is the mean over all processes, >= 1."""

    def wrapped(self, *args, **kwargs):
        targets = get_targets(self, *args, **kwargs)
        if not isinstance(targets, tuple):
            return targets
        from mmdet.utils import reduce_mean
        avg_factor = torch.as_tensor(float(targets[4]), device=targets[0][0].device)
        avg_factor = max(reduce_mean(avg_factor).item(), 1.0)
        return targets[:4] + (avg_factor, ) + targets[5:]

    wrapped.__wrapped__ = get_targets
    wrapped.rexnet_mm_global_avg_factor = True
    return wrapped


def fix_ssd_distributed_loss():
    """SSD's loss divided by the mean positive-anchor count over all processes.

    mmdet 3.3.0's ``SSDHead.loss_by_feat`` divides the summed per-anchor losses by
    ``avg_factor``, the positives of *this process's* batch. DDP then averages the
    gradients of the processes, so under ``torchrun`` the loss is
    ``mean_r(S_r / n_r)`` where one process of the whole batch computes
    ``sum_r S_r / sum_r n_r``: images in a batch with few positives weigh more, and a
    distributed run does not train the model a single process does. mmdet's FCOS, ATSS
    and GFL heads already normalise by ``reduce_mean(num_pos)``; this gives SSD (and
    SSDLite) the same: ``S_r / mean_r(n_r)`` averaged over the processes equals
    ``sum_r S_r / sum_r n_r``. In one process ``reduce_mean`` is the identity, so
    single-process training is unchanged (only ``avg_factor`` is floored at 1, as FCOS
    does, where 0 positives gave NaN). True if applied.
    """
    try:
        from mmdet.models.dense_heads import SSDHead
    except ImportError:
        return False
    if getattr(SSDHead.get_targets, 'rexnet_mm_global_avg_factor', False):
        return False
    SSDHead.get_targets = _global_avg_factor(SSDHead.get_targets)
    return True
