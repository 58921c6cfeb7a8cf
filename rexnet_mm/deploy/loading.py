"""The model to export and its inputs: :func:`load_model` (a config and a checkpoint),
:func:`default_shape` (the export size), :func:`as_input` / :func:`read_image` (an image
as the graph's input) and :func:`det_inputs` (the same image through a detector's own
data preprocessor, for mmdet's eager ``predict``)."""
import os.path as osp
import warnings

import torch

from ..apis.build import build_random_model, config_input_shape
from ..apis.config import ConfigError, find_config
from ..errors import InvalidValueError, MissingFileError
from ..weights import CheckpointError
from ..images import image_input


def load_model(config, checkpoint):
    """``(model, cfg, scope)``: ``config``'s model with ``checkpoint``'s weights, eval
    mode; one-line errors for a missing, unreadable or mismatching checkpoint."""
    from mmengine.runner import load_checkpoint

    from ..apis.runner import _loads
    from ..fixes import default_scope
    if not osp.isfile(checkpoint):
        raise MissingFileError(f'checkpoint {checkpoint!r} does not exist')
    why = _loads(checkpoint)
    if why is not None:
        raise CheckpointError(f'checkpoint {checkpoint!r} cannot be loaded ({why})')
    config = find_config(config)
    model, cfg, scope = build_random_model(config)
    with default_scope(scope), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try:
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                                   logger='silent')
        except RuntimeError as exc:
            first = str(exc).splitlines()
            raise CheckpointError(f'checkpoint {checkpoint!r} does not fit {osp.basename(config)} '
                              f'({" ".join(first[:2])[:200]}): pass the config it was '
                              f'trained with') from None
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    model.dataset_meta = (meta or {}).get('dataset_meta') or getattr(model, 'dataset_meta',
                                                                     None)
    return model.eval(), cfg, scope


def default_shape(cfg, kind):
    """(H, W): 224 x 224 for classifiers, else the size the config tests at (the one
    tools/analysis/get_flops.py uses: mmseg's crop size, the test pipeline's resize)."""
    if kind == 'classifier':
        return 224, 224
    return tuple(int(v) for v in config_input_shape(cfg))


def as_input(img, shape):
    """The graph's input for an ``H x W x 3`` uint8 BGR array: ``1 x 3 x H x W`` float,
    resized to ``shape`` (H, W) (:func:`rexnet_mm.images.image_input`)."""
    return torch.from_numpy(image_input(img, shape))


def read_image(path, shape):
    """:func:`as_input` of ``path``, or of a generated shapes image
    (rexnet_mm.synthetic) when ``path`` is None."""
    import mmcv
    import numpy as np
    if path is None:
        from ..synthetic.shapes_coco import render_image
        return as_input(render_image(np.random.default_rng(0), size=max(shape))[0], shape)
    if not osp.isfile(path):
        raise MissingFileError(f'image {path!r} does not exist')
    img = mmcv.imread(path)
    if img is None:
        raise InvalidValueError(f'cannot decode image {path!r}')
    return as_input(img, shape)


def det_sample(shape):
    """An mmdet data sample of one unresized, unpadded ``shape`` (H, W) image."""
    from mmdet.structures import DetDataSample
    shape = tuple(int(v) for v in shape)
    return DetDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
                                       scale_factor=(1., 1.)))


def det_inputs(model, image):
    """``(inputs, data_samples)`` for a detector's ``predict``: ``image`` (``1 x 3 x H x
    W``, BGR 0-255) through the model's own data preprocessor."""
    data = model.data_preprocessor({'inputs': [image[0]],
                                    'data_samples': [det_sample(image.shape[2:])]})
    return data['inputs'], data['data_samples']
