"""Checkpoints: the formats users bring, detected, converted to ours and back, and
loaded into our backbones.

Our layout is mmpretrain's ``ImageClassifier`` layout: ``backbone.*`` for the backbone
and ``head.*`` for the classifier, so one converted file serves the ImageNet
classifier, ``init_cfg=dict(type='Pretrained', ...)`` of a detector or segmentor
backbone, and fine-tuning. Each family module (:mod:`.rexnet`, :mod:`.regnet`)
registers its formats and a :class:`~.base.WeightsFamily`; importing this package
registers :func:`load_backbone_weights` as the backbones' ``Pretrained`` loader.
"""
from ..models.backbones.base import register_pretrained_loader
from .base import (FAMILIES, FORMATS, CheckpointError, WeightsFamily, convert_state_dict,
                   detect_format, family_of, load_backbone_weights, read_state_dict,
                   register_family, register_format, save_checkpoint)
from . import regnet, rexnet  # noqa: F401,E402  (register the two families)
from .export import convert_file, export_state_dict  # noqa: E402

register_pretrained_loader(load_backbone_weights)

__all__ = ['FAMILIES', 'FORMATS', 'CheckpointError', 'WeightsFamily', 'convert_file',
           'convert_state_dict', 'detect_format', 'export_state_dict', 'family_of',
           'load_backbone_weights', 'read_state_dict', 'register_family',
           'register_format', 'save_checkpoint']
