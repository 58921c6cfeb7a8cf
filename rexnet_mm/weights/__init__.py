"""Checkpoints: the formats users bring, detected, converted to ours and back, and
loaded into our backbones.

Our layout is mmpretrain's ``ImageClassifier`` layout: ``backbone.*`` for the backbone
and ``head.*`` for the classifier, so one converted file serves the ImageNet
classifier, ``init_cfg=dict(type='Pretrained', ...)`` of a detector or segmentor
backbone, and fine-tuning. Each family module (:mod:`.rexnet`, :mod:`.regnet`)
registers its formats and a :class:`~.base.WeightsFamily`; importing this package
registers :func:`load_backbone_weights` as the backbones' ``Pretrained`` loader and
:func:`~.download.fetch` as the resolver of weights named by zoo name, hub id or URL
(:mod:`.zoo`), also for mmengine's ``CheckpointLoader`` (scheme ``rexnet_mm://``).
"""
from ..models.backbones.base import register_pretrained_loader
from .base import (FAMILIES, FORMATS, CheckpointError, WeightsFamily, convert_state_dict,
                   detect_format, family_of, load_backbone_weights, read_state_dict,
                   register_family, register_format, register_resolver, save_checkpoint)
from . import regnet, rexnet  # noqa: F401,E402  (register the two families)
from .export import convert_file, export_state_dict  # noqa: E402
from .download import WeightsUnavailable, cache_root, fetch  # noqa: E402
from .zoo import SCHEME, ZOO, is_remote  # noqa: E402

register_pretrained_loader(load_backbone_weights)
register_resolver(fetch)


def _load_by_name(filename, map_location=None, logger=None):
    """mmengine ``CheckpointLoader`` scheme ``rexnet_mm://``: the zoo's weights, fetched
    and converted to our layout (``backbone.*``, ``head.*``), for ``load_from`` and the
    ``Pretrained`` init of any model (mmpretrain's classifiers included)."""
    import torch
    return torch.load(fetch(filename), map_location=map_location or 'cpu',
                      weights_only=True)


def _register_scheme():
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes=SCHEME, loader=_load_by_name, force=True)


_register_scheme()

__all__ = ['FAMILIES', 'FORMATS', 'SCHEME', 'ZOO', 'CheckpointError', 'WeightsFamily',
           'WeightsUnavailable', 'cache_root', 'convert_file', 'fetch', 'is_remote',
           'convert_state_dict', 'detect_format', 'export_state_dict', 'family_of',
           'load_backbone_weights', 'read_state_dict', 'register_family',
           'register_format', 'save_checkpoint']
