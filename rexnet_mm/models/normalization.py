"""The input normalisation each family's ImageNet weights expect (0-255 pixel scale).

* ReXNet (the authors' and timm's weights): **RGB** images, ImageNet mean/std.
* RegNet (the pycls zoo, and mmdet's / mmpretrain's copies): **BGR** images, the same
  statistics in BGR order; timm's copies were flipped to RGB, and the converters flip
  them back (:mod:`rexnet_mm.weights.regnet`), so every RegNet file we write is BGR.

Configs repeat these numbers literally (mmengine configs are data); the tests check
that every shipped config agrees with this module.
"""
IMAGENET_RGB = dict(input_order='RGB', mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375])
PYCLS_BGR = dict(input_order='BGR', mean=[103.53, 116.28, 123.675],
                 std=[57.375, 57.12, 58.395])
#: What each weights family expects.
FAMILY_INPUT = {'rexnet': IMAGENET_RGB, 'regnet': PYCLS_BGR}


def flipped(norm):
    """The same statistics for the other channel order."""
    return dict(input_order='BGR' if norm['input_order'] == 'RGB' else 'RGB',
                mean=norm['mean'][::-1], std=norm['std'][::-1])


def cls_preprocessor(family, num_classes=1000):
    """mmpretrain ``ClsDataPreprocessor`` for images loaded as BGR (mmcv's default)."""
    norm = FAMILY_INPUT[family]
    return dict(type='ClsDataPreprocessor', num_classes=num_classes, mean=list(norm['mean']),
                std=list(norm['std']), to_rgb=norm['input_order'] == 'RGB')
