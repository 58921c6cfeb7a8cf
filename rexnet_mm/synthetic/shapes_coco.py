"""Embedded, deterministic COCO-format detection / instance-segmentation data.

"Shapes COCO": every image holds 1-4 non-overlapping solid shapes of four
classes (``circle``, ``square``, ``triangle``, ``cross``) in random colours and
sizes, turned by up to +-25 degrees, on a textured background (smooth noise,
stripes, a checkerboard or a gradient of two nearby colours, with pixel noise). Each object is a polygon; the
same polygon is painted into the image and written as its COCO ``segmentation``,
so boxes and instance masks are exact.

Layout (what mmdet's ``CocoDataset`` reads)::

    OUT/train/000000.jpg ...              OUT/val/000000.jpg ...
    OUT/annotations/instances_train.json  OUT/annotations/instances_val.json
    OUT/synthetic_info.json               (the settings; makes reruns a no-op)

Every image depends only on ``(seed, split, index)``: a dataset is reproducible
bit for bit and growing ``--train`` keeps the existing images. Command line::

    python -m rexnet_mm.synthetic.shapes_coco --out data/shapes_coco_v3
    python -m rexnet_mm.synthetic.shapes_coco --out /tmp/tiny --train 8 --val 4 --size 64
"""
import argparse
import colorsys
import json
import math
import os
import os.path as osp

import numpy as np
from PIL import Image, ImageDraw

from ..errors import InvalidValueError, add_debug_flag, one_line_errors, prog
from ..utils import progress_bar
from ._generated import prepare_root, save_image, write_info

#: Category names; COCO category ids are 1-based in this order.
CLASSES = ('circle', 'square', 'triangle', 'cross')
#: Colours used when drawing each class (RGB), e.g. for mmdet's ``metainfo``.
PALETTE = ((220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48))
BACKGROUNDS = ('noise', 'stripes', 'checker', 'gradient')
SPLITS = ('train', 'val')

_FORMAT_VERSION = 3


def metainfo():
    """``metainfo`` for mmdet's ``CocoDataset`` (classes and palette)."""
    return dict(classes=CLASSES, palette=list(PALETTE))


def _rng(seed, split, index):
    """Generator of one image; independent of how many images are made."""
    return np.random.default_rng([seed, SPLITS.index(split), index])


# --------------------------------------------------------------------------
# shapes: unit polygons, then placed by (centre, radius, angle)
# --------------------------------------------------------------------------
def unit_polygon(name):
    """Vertices (N, 2) of a shape of circumradius 1 centred at the origin."""
    if name == 'circle':
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if name == 'square':
        t = np.pi / 4 + np.arange(4) * np.pi / 2
        return np.stack([np.cos(t), np.sin(t)], 1)
    if name == 'triangle':
        t = -np.pi / 2 + np.arange(3) * 2 * np.pi / 3
        return np.stack([np.cos(t), np.sin(t)], 1)
    if name == 'cross':
        a, b = 1 / math.sqrt(1 + 0.35 ** 2), 0.35 / math.sqrt(1 + 0.35 ** 2)
        quarter = [(a, -b), (a, b), (b, b)]  # arm end and inner corner, then rotate
        pts = []
        for k in range(4):
            c, s = math.cos(k * np.pi / 2), math.sin(k * np.pi / 2)
            pts += [(c * x - s * y, s * x + c * y) for x, y in quarter]
        return np.array(pts)
    raise KeyError(f'unknown shape {name!r}: use one of {CLASSES}')


def place_polygon(name, cx, cy, radius, angle):
    """Vertices of shape ``name`` rotated by ``angle`` (rad) at ``(cx, cy)``."""
    c, s = math.cos(angle), math.sin(angle)
    pts = unit_polygon(name) @ np.array([[c, s], [-s, c]]) * radius
    return pts + np.array([cx, cy])


def polygon_area(pts):
    """Shoelace area of a simple polygon."""
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


# --------------------------------------------------------------------------
# painting
# --------------------------------------------------------------------------
def _colour(rng, value_range=(0.25, 1.0), sat_range=(0.3, 1.0)):
    rgb = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*sat_range), rng.uniform(*value_range))
    return np.array(rgb) * 255


def background(rng, size, contrast=60.0, kinds=BACKGROUNDS):
    """A textured (H, W, 3) float background in [0, 255].

    The texture (one of ``kinds``) blends two colours at most ``contrast`` apart per
    channel, so it is visible but weaker than the objects (whose colours differ from
    it by more).
    """
    kind = kinds[rng.integers(len(kinds))]
    yy, xx = np.mgrid[0:size, 0:size] / size
    if kind == 'noise':  # smooth blobs: coarse noise, bilinear upsampling
        cells = int(rng.integers(3, 8))
        coarse = Image.fromarray((rng.uniform(size=(cells, cells)) * 255).astype(np.uint8))
        t = np.asarray(coarse.resize((size, size), Image.BILINEAR), np.float64) / 255
    elif kind == 'stripes':
        theta, period = rng.uniform(0, np.pi), rng.uniform(0.06, 0.25)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / period)
    elif kind == 'checker':
        theta, period = rng.uniform(0, np.pi), rng.uniform(0.08, 0.3)
        u = xx * np.cos(theta) + yy * np.sin(theta)
        v = -xx * np.sin(theta) + yy * np.cos(theta)
        t = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float64)
    else:  # gradient
        theta = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(theta) + yy * np.sin(theta)
        t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
    c0 = _colour(rng, (0.2, 0.9), (0.0, 0.6))
    c1 = np.clip(c0 + rng.uniform(-contrast, contrast, 3), 0, 255)
    img = c0 + (c1 - c0) * t[..., None]
    return img + rng.normal(0, 8, img.shape)


def _contrasting_colour(rng, region_mean, min_dist=90.0, tries=20):
    best, best_d = None, -1.0
    for _ in range(tries):
        col = _colour(rng)
        d = float(np.linalg.norm(col - region_mean))
        if d >= min_dist:
            return col
        if d > best_d:
            best, best_d = col, d
    return best


def _overlaps(box, boxes, margin):
    x0, y0, x1, y1 = box
    return any(x0 < b[2] + margin and b[0] < x1 + margin and y0 < b[3] + margin
               and b[1] < y1 + margin for b in boxes)


def render_image(rng, size=128, max_objects=4, radius_range=(0.1, 0.25), max_rotation=25.0,
                 backgrounds=BACKGROUNDS, margin=2):
    """One image and its objects (shapes turned by up to ``max_rotation`` degrees).

    Objects' boxes keep ``margin`` pixels apart (a negative margin lets them overlap;
    later objects are painted over earlier ones). Returns ``(image uint8 (size, size,
    3), objects)`` where each object is a dict with ``label`` (0-based), ``polygon``
    (N, 2), ``bbox`` (x0, y0, x1, y1) and ``mask`` (the painted pixels, bool).
    """
    img = background(rng, size, kinds=backgrounds)
    objects, boxes = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(len(CLASSES)))
        for _attempt in range(30):
            radius = rng.uniform(*radius_range) * size
            cx, cy = rng.uniform(radius, size - radius, size=2)
            angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation))
            poly = place_polygon(CLASSES[label], cx, cy, radius, angle)
            box = (*poly.min(0), *poly.max(0))
            if not _overlaps(box, boxes, margin=margin):
                break
        else:
            continue  # no free room left for this object
        mask_img = Image.new('L', (size, size), 0)
        ImageDraw.Draw(mask_img).polygon([tuple(p) for p in poly], fill=1)
        mask = np.asarray(mask_img, bool)
        if mask.sum() < 16:
            continue
        colour = _contrasting_colour(rng, img[mask].mean(0))
        shade = 1 + 0.15 * (np.mgrid[0:size, 0:size][0] / size - 0.5)  # soft lighting
        img[mask] = (colour * shade[mask][:, None]) + rng.normal(0, 4, (int(mask.sum()), 3))
        boxes.append(box)
        objects.append(dict(label=label, polygon=poly, bbox=box, mask=mask))
    return np.clip(img, 0, 255).astype(np.uint8), objects


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------
def coco_annotations(objects, image_id, first_ann_id):
    """COCO annotation dicts of one image's objects (polygon segmentation)."""
    anns = []
    for k, obj in enumerate(objects):
        x0, y0, x1, y1 = (float(v) for v in obj['bbox'])
        poly = obj['polygon']
        anns.append(dict(
            id=first_ann_id + k, image_id=image_id, category_id=obj['label'] + 1,
            bbox=[round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
            area=round(polygon_area(poly), 2),
            segmentation=[[round(float(v), 2) for v in poly.reshape(-1)]],
            iscrowd=0))
    return anns


def generate(out, num_train=2000, num_val=200, size=128, seed=0, max_objects=4,
             ext='jpg', max_rotation=25.0, radius_range=(0.1, 0.25), backgrounds=BACKGROUNDS,
             progress=False):
    """Write the dataset to ``out`` (idempotent: an identical one is kept).

    Returns a dict with ``root``, ``classes``, the annotation files
    (``train_ann``, ``val_ann``), the image folders relative to ``root``
    (``train_prefix``, ``val_prefix``) and ``created`` (False if reused).
    """
    if ext not in ('png', 'jpg'):
        raise InvalidValueError(f'ext must be png or jpg, got {ext!r}')
    if size < 32:
        raise InvalidValueError(f'size must be at least 32 pixels, got {size}')
    info = dict(generator='rexnet_mm.synthetic.shapes_coco', version=_FORMAT_VERSION,
                classes=list(CLASSES), num_train=num_train, num_val=num_val, size=size,
                seed=seed, max_objects=max_objects, ext=ext, max_rotation=max_rotation,
                radius_range=list(radius_range), backgrounds=list(backgrounds))
    result = dict(root=out, classes=CLASSES,
                  train_ann=osp.join(out, 'annotations', 'instances_train.json'),
                  val_ann=osp.join(out, 'annotations', 'instances_val.json'),
                  train_prefix='train/', val_prefix='val/')
    result['created'] = prepare_root(out, info, 'shapes dataset')
    if not result['created']:
        return result
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    categories = [dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(CLASSES)]
    bar = progress_bar(num_train + num_val, progress)
    for split, count in (('train', num_train), ('val', num_val)):
        os.makedirs(osp.join(out, split), exist_ok=True)
        images, anns = [], []
        for index in range(count):
            img, objects = render_image(_rng(seed, split, index), size, max_objects,
                                        radius_range, max_rotation, backgrounds)
            name = f'{index:06d}.{ext}'
            save_image(osp.join(out, split, name), img, ext)
            image_id = index + 1
            images.append(dict(id=image_id, file_name=name, width=size, height=size))
            anns += coco_annotations(objects, image_id, len(anns) + 1)
            bar.update()
        coco = dict(info=dict(description=f'rexnet_mm synthetic shapes ({split})',
                              version=str(_FORMAT_VERSION)),
                    licenses=[], images=images, annotations=anns, categories=categories)
        with open(result[f'{split}_ann'], 'w') as f:
            json.dump(coco, f)
    write_info(out, info)
    return result


@one_line_errors
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Generate the embedded COCO-format shapes dataset '
                    '(boxes + instance masks, train/val).')
    parser.add_argument('--out', required=True, help='output directory (new or empty)')
    parser.add_argument('--train', type=int, default=2000, help='train images')
    parser.add_argument('--val', type=int, default=200, help='val images')
    parser.add_argument('--size', type=int, default=128, help='image side in pixels')
    parser.add_argument('--max-objects', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--max-rotation', type=float, default=25.0,
                        help='shapes are turned by up to this many degrees (180: any)')
    parser.add_argument('--ext', choices=('png', 'jpg'), default='jpg',
                        help='jpg (quality 95, 4:4:4) keeps the dataset small; png is lossless')
    args = add_debug_flag(parser).parse_args(argv)
    res = generate(args.out, args.train, args.val, args.size, args.seed,
                   args.max_objects, args.ext, args.max_rotation, progress=True)
    state = 'wrote' if res['created'] else 'already present (same settings), kept'
    print(f'shapes COCO {state}: {args.out} ({args.train} train / {args.val} val images, '
          f'classes {", ".join(CLASSES)})')


if __name__ == '__main__':
    main()
