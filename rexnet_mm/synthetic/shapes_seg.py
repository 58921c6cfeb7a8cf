"""Embedded, deterministic semantic-segmentation data in mmseg's standard layout.

The shapes of :mod:`rexnet_mm.synthetic.shapes_coco` (circle, square, triangle, cross on
textured backgrounds), painted per pixel, and allowed to touch and overlap (a later
shape covers an earlier one). Labels: 0 ``background``, 1-4 the shapes, and 255
(``ignore_index``) on the one-pixel seam where two shapes touch, where the true
boundary is ambiguous at the pixel scale.

Layout (what mmseg's ``BaseSegDataset`` reads with ``img_suffix='.jpg'``,
``seg_map_suffix='.png'``)::

    OUT/img_dir/train/000000.jpg ...     OUT/ann_dir/train/000000.png ...
    OUT/img_dir/val/000000.jpg ...       OUT/ann_dir/val/000000.png ...
    OUT/synthetic_info.json               (the settings; makes reruns a no-op)

Every image depends only on ``(seed, split, index)``. Command line::

    python -m rexnet_mm.synthetic.shapes_seg --out data/shapes_seg
"""
import argparse
import os
import os.path as osp

import numpy as np
from PIL import Image

from ..errors import InvalidValueError, add_debug_flag, one_line_errors, prog
from ..utils import progress_bar
from ._generated import prepare_root, save_image, write_info
from .shapes_coco import BACKGROUNDS, CLASSES as SHAPES, PALETTE as SHAPE_PALETTE
from .shapes_coco import SPLITS, render_image

#: Class names by label value (0-4); 255 is ignored.
CLASSES = ('background',) + SHAPES
PALETTE = ((0, 0, 0),) + SHAPE_PALETTE
IGNORE_INDEX = 255
_FORMAT_VERSION = 1


def metainfo():
    """``metainfo`` for mmseg's ``BaseSegDataset`` (classes and palette)."""
    return dict(classes=CLASSES, palette=[list(c) for c in PALETTE])


def label_map(objects, size):
    """Per-pixel labels of the painted objects: 0 background, label + 1 inside a shape
    (the last painted wins), IGNORE_INDEX where two shapes touch."""
    instance = np.zeros((size, size), np.int32)  # 0: background, k: k-th object
    labels = np.zeros((size, size), np.uint8)
    for k, obj in enumerate(objects, 1):
        instance[obj['mask']] = k
        labels[obj['mask']] = obj['label'] + 1
    seam = np.zeros((size, size), bool)
    for axis in (0, 1):  # neighbours below / to the right
        a = instance
        b = np.roll(instance, -1, axis=axis)
        touch = (a > 0) & (b > 0) & (a != b)
        if axis == 0:
            touch[-1, :] = False
        else:
            touch[:, -1] = False
        seam |= touch | np.roll(touch, 1, axis=axis)  # both pixels of the pair
    labels[seam] = IGNORE_INDEX
    return labels


def generate(out, num_train=1500, num_val=200, size=96, seed=0, max_objects=5,
             radius_range=(0.1, 0.25), max_rotation=25.0, overlap=8, ext='jpg',
             progress=False):
    """Write the dataset to ``out`` (idempotent: an identical one is kept).

    ``overlap``: how far (pixels) the boxes of two shapes may reach into each other.
    Returns a dict with ``root``, ``classes`` and ``created`` (False if reused).
    """
    if size < 32:
        raise InvalidValueError(f'size must be at least 32 pixels, got {size}')
    info = dict(generator='rexnet_mm.synthetic.shapes_seg', version=_FORMAT_VERSION,
                classes=list(CLASSES), num_train=num_train, num_val=num_val, size=size,
                seed=seed, max_objects=max_objects, radius_range=list(radius_range),
                max_rotation=max_rotation, overlap=overlap, ext=ext)
    result = dict(root=out, classes=CLASSES)
    result['created'] = prepare_root(out, info, 'segmentation shapes dataset')
    if not result['created']:
        return result
    bar = progress_bar(num_train + num_val, progress)
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(out, 'ann_dir', split), exist_ok=True)
        for index in range(count):
            rng = np.random.default_rng([seed, SPLITS.index(split), index, 1])
            img, objects = render_image(rng, size, max_objects, radius_range, max_rotation,
                                        BACKGROUNDS, margin=-overlap)
            save_image(osp.join(out, 'img_dir', split, f'{index:06d}.{ext}'), img, ext)
            Image.fromarray(label_map(objects, size)).save(
                osp.join(out, 'ann_dir', split, f'{index:06d}.png'))
            bar.update()
    write_info(out, info)
    return result


@one_line_errors
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Generate the embedded semantic-segmentation shapes dataset '
                    '(mmseg layout: img_dir/, ann_dir/).')
    parser.add_argument('--out', required=True, help='output directory (new or empty)')
    parser.add_argument('--train', type=int, default=1500, help='train images')
    parser.add_argument('--val', type=int, default=200, help='val images')
    parser.add_argument('--size', type=int, default=96, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    args = add_debug_flag(parser).parse_args(argv)
    res = generate(args.out, args.train, args.val, args.size, args.seed, progress=True)
    state = 'wrote' if res['created'] else 'already present (same settings), kept'
    print(f'shapes segmentation {state}: {args.out} ({args.train} train / {args.val} val '
          f'images, classes {", ".join(CLASSES)}; 255 = ignore)')


if __name__ == '__main__':
    main()
