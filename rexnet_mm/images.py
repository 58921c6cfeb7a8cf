"""Image files as a model's input (layer 0: imports nothing of rexnet_mm but its errors;
numpy and OpenCV only, so that :class:`rexnet_mm.deploy.predictor.OnnxPredictor` needs
nothing else).

* :func:`list_images`: the image files of a folder (INT8 calibration in
  :mod:`rexnet_mm.deploy.quantize`, the feature-rank study in
  :mod:`rexnet_mm.analysis.rank`);
* :func:`image_input`: an ``H x W x 3`` BGR image resized into the ``1 x 3 x H x W``
  float32, BGR, 0-255 array an exported graph takes (and, normalised by
  :func:`rexnet_mm.models.normalization.normalize`, what a model takes).
"""
import os
import os.path as osp

from .errors import MissingFileError

#: What :func:`list_images` lists (lower-case name endings).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def list_images(folder, limit=None, what='--images'):
    """The image files of ``folder`` (:data:`IMAGE_EXTENSIONS`), sorted by name, at most
    ``limit`` (all for None / 0), as paths. A one-line error (naming the option
    ``what``) where ``folder`` is not a folder or holds no image."""
    kinds = ', '.join(IMAGE_EXTENSIONS)
    if not osp.isdir(folder):
        raise MissingFileError(f'{what} {folder!r} is not a folder: give a folder of '
                               f'images ({kinds})')
    files = sorted(osp.join(folder, f) for f in os.listdir(folder)
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise MissingFileError(f'{what}: no images ({kinds}) in {folder!r}')
    return files[:limit] if limit else files


def image_input(img, shape):
    """``img`` (``H0 x W0 x 3`` uint8 BGR, as ``cv2.imread`` / ``mmcv.imread`` give it)
    resized to ``shape`` (H, W) with OpenCV's bilinear interpolation (the whole image
    stretched: no keep-ratio, no padding; ``mmcv.imresize``'s default), as a contiguous
    ``1 x 3 x H x W`` float32 array, BGR, 0-255."""
    import cv2
    import numpy as np
    h, w = (int(v) for v in shape)
    resized = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(resized.transpose(2, 0, 1)[None], dtype=np.float32)
