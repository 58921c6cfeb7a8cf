"""Checkpoint formats users bring, detected automatically and converted to ours.

Our layout is mmpretrain's ``ImageClassifier`` layout: ``backbone.*`` for the backbone
and ``head.*`` for the classifier, so one converted file serves the ImageNet
classifier, ``init_cfg=dict(type='Pretrained', ...)`` of a detector or segmentor
backbone, and fine-tuning.
"""
from .base import (FORMATS, CheckpointError, convert_state_dict, detect_format,
                   load_backbone_weights, read_state_dict, register_format,
                   save_checkpoint)
from . import regnet, rexnet  # noqa: F401  (register the RegNet and ReXNet formats)

__all__ = ['FORMATS', 'CheckpointError', 'convert_state_dict', 'detect_format',
           'load_backbone_weights', 'read_state_dict', 'register_format',
           'save_checkpoint']
