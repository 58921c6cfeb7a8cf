"""ImageNet classifiers built from our backbones with mmpretrain's ``ImageClassifier``.

The state-dict layout of these models (``backbone.*``, ``head.*``) is the layout all
converters write, so a converted ImageNet checkpoint loads into them unchanged.
"""
from copy import deepcopy

from .backbones.regnet import build_regnet_classifier, regnet_classifier_cfg  # noqa: F401
from .backbones.rexnet import rexnet_channels

#: ImageNet preprocessing of the released weights (RGB, 0-255 scale).
IMAGENET_PREPROCESSOR = dict(type='ClsDataPreprocessor', num_classes=1000,
                             mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                             to_rgb=True)


def rexnet_classifier_cfg(widen_factor=1.0, arch='v1', num_classes=1000, **backbone_kwargs):
    """Config of an mmpretrain ImageClassifier equal to the authors' ReXNet.

    v1: pooled 1280*w features -> linear (the authors' 1x1 conv ``output.1``).
    lite: linear 1280 -> 1024, BN, ReLU6, dropout, linear (``output.0/1/4``).
    """
    head_channels = rexnet_channels(widen_factor, arch)[2]
    topk = (1, 5) if num_classes >= 5 else (1,)
    if arch == 'lite':
        head = dict(type='StackedLinearClsHead', num_classes=num_classes,
                    in_channels=head_channels, mid_channels=[1024], dropout_rate=0.2,
                    norm_cfg=dict(type='BN1d'), act_cfg=dict(type='ReLU6'), topk=topk)
    else:
        head = dict(type='LinearClsHead', num_classes=num_classes,
                    in_channels=head_channels, topk=topk)
    preprocessor = deepcopy(IMAGENET_PREPROCESSOR)
    preprocessor['num_classes'] = num_classes
    return dict(
        type='ImageClassifier',
        backbone=dict(type='ReXNet', widen_factor=widen_factor, arch=arch,
                      out_indices=(5,), **backbone_kwargs),
        neck=dict(type='GlobalAveragePooling'),
        head=head,
        data_preprocessor=preprocessor)


def build_rexnet_classifier(widen_factor=1.0, arch='v1', num_classes=1000, **backbone_kwargs):
    """Build :func:`rexnet_classifier_cfg` with mmpretrain's registry."""
    from mmpretrain.registry import MODELS
    return MODELS.build(rexnet_classifier_cfg(widen_factor, arch, num_classes,
                                              **backbone_kwargs))
