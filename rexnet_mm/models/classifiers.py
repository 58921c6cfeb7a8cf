"""ImageNet classifiers of both families, built with mmpretrain's ``ImageClassifier``.

The state-dict layout of these models (``backbone.*``, ``head.*``) is the layout all
converters write (:mod:`rexnet_mm.weights`), so a converted ImageNet checkpoint loads
into them with ``strict=True``. Each data preprocessor normalises images the way the
family's weights expect (:mod:`rexnet_mm.models.normalization`).
"""
from .backbones.regnet import arch_stages
from .backbones.rexnet import rexnet_block_widths
from .normalization import cls_preprocessor


def rexnet_classifier_cfg(widen_factor=1.0, arch='v1', num_classes=1000, **backbone_kwargs):
    """Config of an mmpretrain ImageClassifier equal to the authors' ReXNet.

    v1: pooled 1280*w features -> linear (the authors' 1x1 conv ``output.1``).
    lite: linear 1280 -> 1024, BN, ReLU6, dropout, linear (``output.0/1/4``).
    """
    head_channels = rexnet_block_widths(widen_factor, arch,
                                        backbone_kwargs.get('depth_mult', 1.0))[2]
    topk = (1, 5) if num_classes >= 5 else (1,)
    if arch == 'lite':
        head = dict(type='StackedLinearClsHead', num_classes=num_classes,
                    in_channels=head_channels, mid_channels=[1024], dropout_rate=0.2,
                    norm_cfg=dict(type='BN1d'), act_cfg=dict(type='ReLU6'), topk=topk)
    else:
        head = dict(type='LinearClsHead', num_classes=num_classes,
                    in_channels=head_channels, topk=topk)
    return dict(
        type='ImageClassifier',
        data_preprocessor=cls_preprocessor('rexnet', num_classes),
        backbone=dict(type='ReXNet', widen_factor=widen_factor, arch=arch,
                      out_indices=(6,), **backbone_kwargs),
        neck=dict(type='GlobalAveragePooling'),
        head=head)


def regnet_classifier_cfg(arch='regnetx_400mf', num_classes=1000, **backbone_kwargs):
    """Config of a RegNet ImageNet classifier (the pycls head).

    Backbone (last stage) -> ``GlobalAveragePooling`` -> ``LinearClsHead``; the data
    preprocessor normalises BGR input like pycls.
    """
    widths = arch_stages(arch)['widths']
    return dict(
        type='ImageClassifier',
        data_preprocessor=cls_preprocessor('regnet', num_classes),
        backbone=dict(type='PyclsRegNet', arch=arch, out_indices=(len(widths) - 1,),
                      **backbone_kwargs),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=widths[-1],
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))


def _build(cfg):
    from mmpretrain.registry import MODELS
    return MODELS.build(cfg)


def build_rexnet_classifier(widen_factor=1.0, arch='v1', num_classes=1000, **backbone_kwargs):
    """Build :func:`rexnet_classifier_cfg` with mmpretrain's registry."""
    return _build(rexnet_classifier_cfg(widen_factor, arch, num_classes, **backbone_kwargs))


def build_regnet_classifier(arch='regnetx_400mf', num_classes=1000, **backbone_kwargs):
    """Build :func:`regnet_classifier_cfg` with mmpretrain's registry."""
    return _build(regnet_classifier_cfg(arch, num_classes, **backbone_kwargs))
