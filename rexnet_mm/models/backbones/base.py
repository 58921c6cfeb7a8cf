"""What ReXNet and PyclsRegNet share with mmdet's backbones.

* One index space for ``out_indices`` and ``frozen_stages`` (mmdet's MobileNetV2): the
  backbone is a stem followed by ``stage_names`` (``layer1``, ``layer2``, ...);
  ``out_indices`` counts those stages from 0, ``frozen_stages`` k freezes the stem and
  the first k of them (0: the stem only, -1: nothing).
* Stages after the last requested output are neither run nor trained (DDP needs no
  ``find_unused_parameters``).
* ``norm_eval`` keeps every BN layer in eval mode while training.
* ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` reads any checkpoint layout the
  weights layer knows (authors', timm, pycls, mmdet, ours). The models do not import
  that layer: :mod:`rexnet_mm.weights` registers its loader here with
  :func:`register_pretrained_loader` when ``rexnet_mm`` is imported.
"""
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

# random init when no checkpoint is named (mmdet's ResNet / RegNet default)
DEFAULT_INIT_CFG = [dict(type='Kaiming', layer='Conv2d'),
                    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]

_PRETRAINED_LOADER = []


def register_pretrained_loader(loader):
    """Set ``loader(backbone, path, logger)``, which reads ``init_cfg``'s checkpoint."""
    _PRETRAINED_LOADER[:] = [loader]
    return loader


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

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg if init_cfg is not None else DEFAULT_INIT_CFG)

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
                outs.append(x)
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
                if isinstance(m, _BatchNorm):
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
        self._is_init = True
