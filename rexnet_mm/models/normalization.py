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


def preprocessor_norm(preprocessor, default=None):
    """``(mean, std, to_rgb)`` of an OpenMMLab data preprocessor: a built one (its
    ``mean``/``std`` buffers; the BGR -> RGB swap as each toolbox keeps it,
    :func:`rexnet_mm.fixes.upstream.swaps_channels`) or its config dict (``mean``,
    ``std``, ``bgr_to_rgb``/``to_rgb``). What it lacks comes from ``default`` (one of
    this module's dicts, e.g. :data:`IMAGENET_RGB`) where given; a mean or std still
    missing is None."""
    if isinstance(preprocessor, dict):
        mean, std = preprocessor.get('mean'), preprocessor.get('std')
        to_rgb = preprocessor.get('bgr_to_rgb', preprocessor.get('to_rgb'))
    else:
        from ..fixes.upstream import swaps_channels
        mean, std = getattr(preprocessor, 'mean', None), getattr(preprocessor, 'std', None)
        to_rgb = swaps_channels(preprocessor)
    if default is not None:
        mean = default['mean'] if mean is None else mean
        std = default['std'] if std is None else std
        to_rgb = default['input_order'] == 'RGB' if to_rgb is None else to_rgb
    return mean, std, bool(to_rgb)


def channel_stats(values):
    """A mean or std (a list, or a data preprocessor's ``C x 1 x 1`` buffer) as a float32
    ``1 x C x 1 x 1`` tensor, for :func:`normalize`."""
    import torch
    return torch.as_tensor(values).detach().reshape(1, -1, 1, 1).float()


def normalize(images, mean, std, to_rgb=False):
    """What a data preprocessor does to ``images`` (``N x 3 x H x W``, BGR, 0-255, as
    mmcv reads them): channels reversed to RGB if ``to_rgb``, then ``(x - mean) / std``
    per channel (``mean``, ``std``: :func:`channel_stats`, in the model's channel order).
    Plain tensor ops, so an exported graph starts with them."""
    if to_rgb:
        images = images.flip(1)
    return (images - mean) / std
