"""What ReXNet and PyclsRegNet share with mmdet's backbones: ``frozen_stages``,
``norm_eval``, skipping stages after the last output, and ``init_cfg=dict(type=
'Pretrained', checkpoint=PATH)`` read through :mod:`rexnet_mm.converters`."""
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

# random init when no checkpoint is named (mmdet's ResNet / RegNet default)
DEFAULT_INIT_CFG = [dict(type='Kaiming', layer='Conv2d'),
                    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]


class StagedBackbone(BaseModule):
    """A stem followed by named stage modules.

    A subclass sets ``weights_family`` (the converter family of its checkpoints), and
    implements ``stem_modules()`` and ``stage_names()`` (all stages in order) and
    ``num_used()`` (how many of them forward runs). ``frozen_stages`` -1 freezes
    nothing, 0 the stem, k the stem and the first k stages; stages after the used ones
    are frozen too (they get no gradient, which keeps DDP happy).
    """

    weights_family = None

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg if init_cfg is not None else DEFAULT_INIT_CFG)

    def stem_modules(self):
        raise NotImplementedError

    def stage_names(self):
        raise NotImplementedError

    def num_used(self):
        raise NotImplementedError

    def _freeze_stages(self):
        names = self.stage_names()
        frozen = list(self.stem_modules()) if self.frozen_stages >= 0 else []
        frozen += [getattr(self, n) for n in names[:max(self.frozen_stages, 0)]]
        frozen += [getattr(self, n) for n in names[self.num_used():]]
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
        from ...converters import load_backbone_weights
        load_backbone_weights(self, checkpoint, self.weights_family,
                              logger=MMLogger.get_current_instance())
        self._is_init = True
