"""Deploy-time BatchNorm folding: every BN merged into the conv (or linear) before it.

In eval mode a BN is an affine map per channel, ``y = (x - mean) / sqrt(var + eps) *
gamma + beta``; applied to ``x = W * z + b`` it is the layer with weights
``W * gamma / sqrt(var + eps)`` and bias ``(b - mean) * gamma / sqrt(var + eps) + beta``.
mmcv's :func:`~mmcv.cnn.fuse_conv_bn` does that for every ``Conv2d`` followed by a BN
among the children of a module (mmcv's ``ConvModule``: conv, norm, act; our SE blocks:
fc1, bn, act, fc2); :func:`fuse_bn` adds the same for ``Linear`` followed by ``BN1d``
(mmpretrain's ``StackedLinearClsHead``: fc, norm, act) and says what is left.

The folded BN is replaced by ``nn.Identity`` (mmcv's choice: module names and forward
code stay as they are). The rule relies on registration order following the data flow
(a BN registered right after a conv normalises that conv's output); the parity tests
(``tests/test_fusion.py``) check it on every shipped family.
"""
import torch
from torch import nn

from ..fixes.upstream import BatchNormBase


def _fold_linear_bn(linear, bn):
    """A ``Linear`` computing ``bn(linear(x))`` (eval-mode BN)."""
    scale = bn.running_var.add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight
    bias = linear.bias if linear.bias is not None else torch.zeros_like(bn.running_mean)
    shift = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_mean)
    fused = nn.Linear(linear.in_features, linear.out_features, bias=True)
    with torch.no_grad():
        fused.weight.copy_(linear.weight * scale[:, None])
        fused.bias.copy_((bias - bn.running_mean) * scale + shift)
    return fused


def _fuse_linear_bn(module):
    last = None
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm1d) and last is not None:
            setattr(module, last, _fold_linear_bn(getattr(module, last), child))
            setattr(module, name, nn.Identity())
            last = None
        elif isinstance(child, nn.Linear):
            last = name
        else:
            last = None
            _fuse_linear_bn(child)


def batchnorms(model):
    """Names of the BN layers in ``model``."""
    return [name for name, m in model.named_modules() if isinstance(m, BatchNormBase)]


def fuse_bn(model):
    """Fold every BN of ``model`` into the conv / linear before it, in place.

    The model is put in eval mode first (folding uses the running statistics; a folded
    model is for inference only). Returns ``(model, left)``: ``left`` names the BN
    layers that have no conv or linear right before them and were kept (none in the
    shipped configs).
    """
    from mmcv.cnn import fuse_conv_bn
    model.eval()
    with torch.no_grad():
        fuse_conv_bn(model)
        _fuse_linear_bn(model)
    return model, batchnorms(model)
