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
import ast
import inspect
import textwrap

import torch

from .guard import Fix, guarded, resolve

_HEADS = 'mmdet.models.dense_heads'
INFERENCE = Fix(
    'ssd_head', requires=(('mmdet', '3.3.0', '3.4.0'), ),
    pins={  # the lookup that fails, and SSDHead's __init__ that never sets loss_cls
        f'{_HEADS}.base_dense_head:BaseDenseHead._predict_by_feat_single':
            '45c2a192819959912af2bc3ad6fd6b0205c2eca88d6b62a047f38df4fb024706',
        f'{_HEADS}.ssd_head:SSDHead.__init__':
            '2350650122374d9835730a4bec20c98bd663fa4d483facd83c1c8d69ed788977',
    },
    summary='`SSDHead.loss_cls = None` (class level), so `predict` takes the softmax path '
            'instead of raising `AttributeError`')


def _tuple_names(function, target, value):
    """The names in the tuple of ``target = (a, b, ...)`` (``value`` None) or of
    ``(a, b, ...) = value`` in ``function``'s source; None if there is no such line."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(resolve(function))))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        left, right = node.targets[0], node.value
        if value is None and getattr(left, 'id', None) == target and isinstance(
                right, ast.Tuple):
            return [getattr(e, 'id', None) for e in right.elts]
        if value is not None and getattr(right, 'id', None) == value and isinstance(
                left, ast.Tuple):
            return [getattr(e, 'id', None) for e in left.elts]
    return None


def avg_factor_index():
    """Where ``avg_factor`` is in the tuple ``SSDHead.get_targets`` returns, read by name
    from mmdet's own code: ``AnchorHead.get_targets`` builds ``res = (labels_list, ...,
    avg_factor)`` and ``SSDHead.loss_by_feat`` unpacks ``(labels_list, ..., avg_factor) =
    cls_reg_targets``. The position if both name it at the same place, else None."""
    built = _tuple_names(f'{_HEADS}.anchor_head:AnchorHead.get_targets', 'res', None)
    used = _tuple_names(f'{_HEADS}.ssd_head:SSDHead.loss_by_feat', None, 'cls_reg_targets')
    if not built or not used or 'avg_factor' not in built or 'avg_factor' not in used:
        return None
    index = built.index('avg_factor')
    return index if used.index('avg_factor') == index else None


def _avg_factor_found():
    if avg_factor_index() is None:
        return ('avg_factor is not at one position in the tuples of AnchorHead.get_targets and '
                'SSDHead.loss_by_feat')
    return None


DISTRIBUTED_LOSS = Fix(
    'ssd_distributed_loss', requires=(('mmdet', '3.3.0', '3.4.0'), ),
    pins={  # the loss that divides by avg_factor, and the tuple avg_factor comes in
        f'{_HEADS}.ssd_head:SSDHead.loss_by_feat':
            '0f932a7476e0253c80194a424c8bb9225f97003dfbbaf6de26696751f780c0e8',
        f'{_HEADS}.anchor_head:AnchorHead.get_targets':
            'a047b5aa8ca1a70d284476b6f0707e36cc80bf0ab6df1f2405722843ffaa0d88',
    },
    summary="`SSDHead.get_targets` wrapped: its `avg_factor` (found by name in mmdet's "
            'code) becomes the mean over the processes (`reduce_mean`, floored at 1)',
    check=_avg_factor_found)


@guarded(INFERENCE)
def fix_ssd_head_inference():
    """Apply the fix if mmdet's SSDHead still lacks ``loss_cls``; True if applied."""
    from mmdet.models.dense_heads import SSDHead
    if 'loss_cls' in vars(SSDHead) or hasattr(SSDHead, 'loss_cls'):
        return False
    SSDHead.loss_cls = None
    return True


def _global_avg_factor(get_targets, index):
    """``get_targets`` whose ``avg_factor`` (element ``index`` of AnchorHead's tuple: the
    positive anchors of this process's batch) is the mean over all processes, >= 1."""

    def wrapped(self, *args, **kwargs):
        targets = get_targets(self, *args, **kwargs)
        if not isinstance(targets, tuple):
            return targets
        value = targets[index]
        if not (isinstance(value, (int, float)) or
                (isinstance(value, torch.Tensor) and value.numel() == 1)):
            raise TypeError(f"rexnet_mm fix 'ssd_distributed_loss': element {index} of "
                            f'SSDHead.get_targets is a {type(value).__name__}, not the '
                            f'avg_factor number mmdet 3.3.0 puts there')
        from mmdet.utils import reduce_mean
        avg_factor = torch.as_tensor(float(value), device=targets[0][0].device)
        avg_factor = max(reduce_mean(avg_factor).item(), 1.0)
        return targets[:index] + (avg_factor, ) + targets[index + 1:]

    wrapped.__wrapped__ = get_targets
    wrapped.rexnet_mm_global_avg_factor = True
    return wrapped


@guarded(DISTRIBUTED_LOSS)
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
    from mmdet.models.dense_heads import SSDHead
    if getattr(SSDHead.get_targets, 'rexnet_mm_global_avg_factor', False):
        return False
    SSDHead.get_targets = _global_avg_factor(SSDHead.get_targets, avg_factor_index())
    return True
