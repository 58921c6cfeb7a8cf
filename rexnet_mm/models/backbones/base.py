"""What ReXNet and PyclsRegNet share with mmdet's backbones.

* One index space for ``out_indices`` and ``frozen_stages`` (mmdet's MobileNetV2): the
  backbone is a stem followed by ``stage_names`` (``layer1``, ``layer2``, ...);
  ``out_indices`` counts those stages from 0, ``frozen_stages`` k freezes the stem and
  the first k of them (0: the stem only, -1: nothing).
* Stages after the last requested output are neither run nor trained (DDP needs no
  ``find_unused_parameters``).
* ``norm_eval`` keeps every BN layer in eval mode while training.
* ``channels_last`` (default True) runs the stages in channels-last (NHWC) memory
  format on the CPU: oneDNN then runs the depthwise and grouped convolutions without
  reordering every activation to its blocked layout and back (numbers in
  docs/deploy.md, from ``tools/analysis/benchmark_speed.py``). The outputs are given
  back in the usual NCHW layout (``nchw_outputs``, default True), because some mmcv ops
  read their input's memory as NCHW whatever its strides: mmcv 2.1.0's RoIAlign on a
  channels-last feature map returns wrong features (Faster R-CNN's detections changed
  completely). ``nchw_outputs=False`` hands NHWC outputs on, for necks and heads of
  plain PyTorch ops (SSDLite's), which then run faster too. GPU inputs are left as they
  come (not measured here).
* ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` reads any checkpoint layout the
  weights layer knows (authors', timm, pycls, mmdet, ours). The models do not import
  that layer: :mod:`rexnet_mm.weights` registers its loader here with
  :func:`register_pretrained_loader` when ``rexnet_mm`` is imported.
"""
import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from torch import nn
from mmengine.model import BaseModule

from ...fixes.upstream import BatchNormBase

# random init when no checkpoint is named (mmdet's ResNet / RegNet default)
DEFAULT_INIT_CFG = [dict(type='Kaiming', layer='Conv2d'),
                    dict(type='Constant', val=1, layer=[BatchNormBase.__name__, 'GroupNorm'])]

_PRETRAINED_LOADER = []


def register_pretrained_loader(loader):
    """Set ``loader(backbone, path, logger)``, which reads ``init_cfg``'s checkpoint."""
    _PRETRAINED_LOADER[:] = [loader]
    return loader


class PooledConv2d(nn.Conv2d):
    """``nn.Conv2d`` that computes a 1x1 conv on pooled ``N x C x 1 x 1`` features (SE)
    as the matrix product it is: same values and weights, but PyTorch's CPU convolution
    takes its slow im2col path for inputs this small (ReXNet-1.0, batch 1: 26 such calls
    were 11% of the network's time)."""

    def forward(self, x):
        if x.shape[-2:] == (1, 1) and self.kernel_size == (1, 1) and self.groups == 1:
            return F.linear(x.flatten(1), self.weight.flatten(1), self.bias)[..., None, None]
        return super().forward(x)


def check_indices(name, out_indices, frozen_stages, num_stages):
    """Validate ``out_indices`` / ``frozen_stages`` against ``num_stages``; one-line errors."""
    out_indices = tuple(out_indices)
    if not out_indices or any(i not in range(num_stages) for i in out_indices):
        raise ValueError(f'{name}: out_indices {out_indices} must be a non-empty subset of '
                         f'0..{num_stages - 1} (the stages; see the class docstring)')
    if frozen_stages not in range(-1, num_stages + 1):
        raise ValueError(f'{name}: frozen_stages must be in -1..{num_stages} (-1 nothing, 0 '
                         f'the stem, k the stem and k stages), got {frozen_stages}')
    return out_indices


class StagedBackbone(BaseModule):
    """A stem followed by named stages, in mmdet's conventions (module docstring).

    A subclass sets ``self.stage_names`` (all stages in order), ``self.out_indices``,
    ``self.frozen_stages``, ``self.norm_eval``, implements ``stem_modules()`` and calls
    ``self._freeze_stages()`` at the end of ``__init__``.
    """

    def __init__(self, init_cfg=None, channels_last=True, nchw_outputs=True):
        super().__init__(init_cfg=init_cfg if init_cfg is not None else DEFAULT_INIT_CFG)
        self.channels_last, self.nchw_outputs = channels_last, nchw_outputs

    def memory_format(self, x):
        """The input in the memory format the stages run in (module docstring)."""
        if self.channels_last and x.device.type == 'cpu' and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def stem_modules(self):
        raise NotImplementedError

    @property
    def num_used_stages(self):
        """How many stages forward runs: up to the last requested output."""
        return max(self.out_indices) + 1

    def forward_stages(self, x):
        """Run the used stages on the stem's output; return the requested ones."""
        outs = []
        for i, name in enumerate(self.stage_names[:self.num_used_stages]):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x.contiguous() if self.nchw_outputs else x)
        return tuple(outs)

    def _freeze_stages(self):
        names = self.stage_names
        frozen = list(self.stem_modules()) if self.frozen_stages >= 0 else []
        frozen += [getattr(self, n) for n in names[:max(self.frozen_stages, 0)]]
        frozen += [getattr(self, n) for n in names[self.num_used_stages:]]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, BatchNormBase):
                    m.eval()
        return self

    @property
    def pretrained_checkpoint(self):
        """The checkpoint ``init_cfg`` names (``type='Pretrained'``), else None."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            return cfg['checkpoint']
        return None

    def init_weights(self):
        checkpoint = self.pretrained_checkpoint
        if checkpoint is None:
            super().init_weights()
            return
        if not _PRETRAINED_LOADER:
            raise RuntimeError('no checkpoint loader registered: import rexnet_mm (which '
                               'imports rexnet_mm.weights) before init_weights()')
        _PRETRAINED_LOADER[0](self, checkpoint, logger=MMLogger.get_current_instance())
        self.is_init = True
