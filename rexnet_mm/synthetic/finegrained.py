"""Embedded, deterministic image-classification data for transfer experiments.

Two generated tasks, both drawn with numpy only (no downloads):

* ``finegrained`` -- "synthetic birds": every class is the same bird-like
  figure (body, head, beak, tail); classes differ only in subtle attributes:
  the body hue (steps of 20 degrees), the wing texture (plain, horizontal
  stripes, vertical stripes, dots) and the crown colour (red or orange).
  4 x 4 x 2 = 32 visually close classes. Pose, size, position, facing
  direction, lighting, saturation and the cluttered background vary per
  image, so the class is carried only by the fine attributes. All attributes
  are invariant to horizontal flips, so ``RandomFlip`` is a valid augmentation.
  Written in the folder layout of CUB-200-2011 (``images/``, ``images.txt``,
  ``image_class_labels.txt``, ``train_test_split.txt``, ``classes.txt``) and
  read by mmpretrain's ``CUB`` dataset class.
* ``shapes`` -- a *different* task used as an ImageNet stand-in for
  pre-training: geometric shapes (circle, square, triangle, star) x fills
  (solid, horizontal stripes, vertical stripes, dots) x colour families (6 hue
  bins of 60 degrees) = 96 classes; rotation, size, position, saturation,
  brightness and the background vary. Like ImageNet for real fine-grained sets,
  it shares low-level cues (colour, texture, edges) with the birds but none of
  their classes. Written in mmpretrain's ``CustomDataset`` layout
  (``train/<class>/*.png``, ``val/<class>/*.png``).

Every image depends only on ``(seed, split, index)``, so a dataset is
reproducible bit for bit. Command line::

    python -m rexnet_mm.synthetic.finegrained data/synthetic_birds
    python -m rexnet_mm.synthetic.finegrained data/shapes --task shapes
"""
import argparse
import colorsys
import os.path as osp

import numpy as np
from PIL import Image

from ..errors import InvalidValueError, add_debug_flag, one_line_errors, prog
from ..utils import progress_bar
from ._generated import prepare_root, save_image, write_info

#: Body hues (degrees) of the fine-grained classes: close blues/violets.
BODY_HUES = (190, 210, 230, 250)
#: Wing textures of the fine-grained classes (all mirror-symmetric).
TEXTURES = ('plain', 'hstripes', 'vstripes', 'dots')
#: Crown colours (hue in degrees) of the fine-grained classes.
CROWNS = (('red', 0), ('orange', 25))
#: Shapes and fills of the pre-training task.
SHAPES = ('circle', 'square', 'triangle', 'star', 'cross', 'ring', 'pentagon',
          'hexagon')
FILLS = ('solid', 'hstripes', 'vstripes', 'dots')
#: Colour families of the pre-training task: centre hues (degrees), +-25 per image.
COLOURS = (('red', 0), ('yellow', 60), ('green', 120), ('cyan', 180), ('blue', 240),
           ('magenta', 300))

#: Bumped whenever the drawing or class order changes (old folders are not reused).
GENERATOR_VERSION = 3
_SUPERSAMPLE = 2


# --------------------------------------------------------------------------
# class tables
# --------------------------------------------------------------------------
def finegrained_classes(num_classes=32):
    """Attribute dicts of the first ``num_classes`` fine-grained classes.

    Classes are ordered hue-fastest, then texture, then crown, so a small
    ``num_classes`` still mixes the attributes (8 classes = 4 close hues x
    plain / striped wings, all with a red crown).
    """
    total = len(BODY_HUES) * len(TEXTURES) * len(CROWNS)
    if not 2 <= num_classes <= total:
        raise InvalidValueError(f'num_classes must be in [2, {total}] for the '
                                f'fine-grained task, got {num_classes}')
    classes = []
    for idx in range(num_classes):
        hue = BODY_HUES[idx % len(BODY_HUES)]
        texture = TEXTURES[(idx // len(BODY_HUES)) % len(TEXTURES)]
        crown_name, crown_hue = CROWNS[idx // (len(BODY_HUES) * len(TEXTURES))]
        classes.append(dict(
            name=f'{idx + 1:03d}.Hue{hue}_{texture}_{crown_name}_crown',
            hue=hue, texture=texture, crown_hue=crown_hue))
    return classes


def shape_classes(num_classes=96):
    """Attribute dicts of the pre-training (shapes) task.

    A class is a shape, a fill (solid, horizontal or vertical stripes, dots) and a
    colour family (6 hue bins of 60 degrees), ordered colour-fastest, then fill,
    then shape: the default 96 classes use circle, square, triangle and star.
    """
    total = len(SHAPES) * len(FILLS) * len(COLOURS)
    if not 2 <= num_classes <= total:
        raise InvalidValueError(f'num_classes must be in [2, {total}] for the shapes '
                                f'task, got {num_classes}')
    classes = []
    for idx in range(num_classes):
        colour, hue = COLOURS[idx % len(COLOURS)]
        fill = FILLS[(idx // len(COLOURS)) % len(FILLS)]
        shape = SHAPES[idx // (len(COLOURS) * len(FILLS))]
        classes.append(dict(name=f'{shape}_{fill}_{colour}', shape=shape, fill=fill,
                            hue=hue))
    return classes


# --------------------------------------------------------------------------
# drawing helpers (float RGB canvases in [0, 1], supersampled)
# --------------------------------------------------------------------------
def _hsv(h_deg, s, v):
    return np.array(colorsys.hsv_to_rgb((h_deg % 360) / 360.0, s, v))


def _grid(n):
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float64) + 0.5
    return xs / n, ys / n


def _frame(xs, ys, cx, cy, angle):
    """Coordinates in a frame centred at (cx, cy) and rotated by angle."""
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = xs - cx, ys - cy
    return c * dx + s * dy, -s * dx + c * dy


def _paint(canvas, mask, color):
    canvas[mask] = color


def _background(rng, n):
    """Smooth, muted random colour field with faint clutter strokes."""
    coarse = rng.uniform(0.25, 0.75, size=(4, 4, 3))
    coarse = coarse * 0.5 + coarse.mean(axis=2, keepdims=True) * 0.5
    img = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (n, n), Image.BICUBIC), dtype=np.float64) / 255.0
    xs, ys = _grid(n)
    for _ in range(rng.randint(2, 5)):  # clutter: thin random lines
        angle = rng.uniform(0, np.pi)
        u, _v = _frame(xs, ys, rng.uniform(0, 1), rng.uniform(0, 1), angle)
        mask = np.abs(u) < rng.uniform(0.004, 0.012)
        _paint(img, mask, rng.uniform(0.2, 0.8, size=3))
    return img


def _texture_mask(u, v, texture, period, phase):
    if texture == 'hstripes':
        return np.sin(2 * np.pi * v / period + phase) > 0.3
    if texture == 'vstripes':
        return np.sin(2 * np.pi * u / period + phase) > 0.3
    if texture == 'dots':
        du = np.mod(u / period + phase / 6.3, 1.0) - 0.5
        dv = np.mod(v / period + phase / 6.3, 1.0) - 0.5
        return du ** 2 + dv ** 2 < 0.09
    return np.zeros_like(u, dtype=bool)


def _triangle(u, v, p0, p1, p2):
    def side(a, b):
        return (u - b[0]) * (a[1] - b[1]) - (a[0] - b[0]) * (v - b[1])
    d1, d2, d3 = side(p0, p1), side(p1, p2), side(p2, p0)
    neg = (d1 < 0) | (d2 < 0) | (d3 < 0)
    pos = (d1 > 0) | (d2 > 0) | (d3 > 0)
    return ~(neg & pos)


def _finish(canvas, rng, size, noise=0.02):
    canvas = np.clip(canvas + rng.normal(0, noise, canvas.shape), 0, 1)
    img = Image.fromarray((canvas * 255 + 0.5).astype(np.uint8))
    return np.asarray(img.resize((size, size), Image.BOX))


def render_bird(attrs, rng, size=64):
    """One RGB uint8 image of the fine-grained class ``attrs``."""
    n = size * _SUPERSAMPLE
    canvas = _background(rng, n)
    xs, ys = _grid(n)
    scale = rng.uniform(0.85, 1.1)
    a, b = 0.27 * scale, 0.16 * scale
    cx, cy = rng.uniform(0.4, 0.6), rng.uniform(0.45, 0.6)
    facing = rng.choice([-1.0, 1.0])
    u, v = _frame(xs, ys, cx, cy, rng.uniform(-0.25, 0.25))
    u = u * facing  # mirror so the head is always at +u in the body frame
    sat, val = rng.uniform(0.55, 0.8), rng.uniform(0.65, 0.95)
    body = _hsv(attrs['hue'] + rng.uniform(-3, 3), sat, val)
    # tail, body, wing texture, head, crown, beak, eye
    tail = _triangle(u, v, (-a * 0.8, 0), (-a * 1.45, -b * 0.8), (-a * 1.45, b * 0.6))
    _paint(canvas, tail, body * 0.8)
    body_mask = (u / a) ** 2 + (v / b) ** 2 <= 1
    _paint(canvas, body_mask, body)
    wing = ((u + a * 0.15) / (a * 0.6)) ** 2 + ((v - b * 0.1) / (b * 0.6)) ** 2 <= 1
    tex = _texture_mask(u, v, attrs['texture'], b * 0.45, rng.uniform(0, 2 * np.pi))
    _paint(canvas, wing & tex, body * 0.45)
    hx, hy, hr = a * 0.95, -b * 0.75, b * 0.62
    head = (u - hx) ** 2 + (v - hy) ** 2 <= hr ** 2
    _paint(canvas, head, body)
    crown = head & (v < hy - hr * 0.25)
    _paint(canvas, crown, _hsv(attrs['crown_hue'] + rng.uniform(-3, 3),
                               rng.uniform(0.75, 0.95), rng.uniform(0.8, 1.0)))
    beak = _triangle(u, v, (hx + hr * 0.8, hy - hr * 0.3),
                     (hx + hr * 0.8, hy + hr * 0.3), (hx + hr * 1.9, hy))
    _paint(canvas, beak, _hsv(50, 0.8, 0.85))
    eye = (u - hx - hr * 0.3) ** 2 + (v - hy + hr * 0.05) ** 2 <= (hr * 0.18) ** 2
    _paint(canvas, eye, np.array([0.05, 0.05, 0.05]))
    canvas = canvas * rng.uniform(0.85, 1.15)  # global lighting
    return _finish(canvas, rng, size)


def _polygon_mask(u, v, k, r, star=False):
    """Regular k-gon (or k-pointed star) of circumradius r."""
    angle = np.arctan2(v, u)
    dist = np.hypot(u, v)
    sector = 2 * np.pi / k
    local = np.mod(angle + np.pi / 2, sector) - sector / 2
    if star:
        inner = r * 0.45
        t = np.abs(local) / (sector / 2)
        return dist <= r * (1 - t) + inner * t
    return dist * np.cos(local) <= r * np.cos(sector / 2)


def render_shape(attrs, rng, size=64):
    """One RGB uint8 image of the pre-training class ``attrs``."""
    n = size * _SUPERSAMPLE
    canvas = _background(rng, n)
    xs, ys = _grid(n)
    r = rng.uniform(0.22, 0.34)
    u, v = _frame(xs, ys, rng.uniform(0.38, 0.62), rng.uniform(0.38, 0.62),
                  rng.uniform(0, 2 * np.pi))
    shape = attrs['shape']
    if shape == 'circle':
        mask = np.hypot(u, v) <= r
    elif shape == 'ring':
        mask = (np.hypot(u, v) <= r) & (np.hypot(u, v) >= r * 0.6)
    elif shape == 'square':
        mask = (np.abs(u) <= r * 0.8) & (np.abs(v) <= r * 0.8)
    elif shape == 'cross':
        mask = ((np.abs(u) <= r) & (np.abs(v) <= r * 0.3)) | \
               ((np.abs(v) <= r) & (np.abs(u) <= r * 0.3))
    elif shape == 'star':
        mask = _polygon_mask(u, v, 5, r, star=True)
    else:
        mask = _polygon_mask(u, v, {'triangle': 3, 'pentagon': 5,
                                    'hexagon': 6}[shape], r)
    color = _hsv(attrs['hue'] + rng.uniform(-25, 25), rng.uniform(0.5, 1.0),
                 rng.uniform(0.5, 1.0))
    _paint(canvas, mask, color)
    if attrs['fill'] != 'solid':  # stripes stay (nearly) axis-aligned
        tu, tv = _frame(xs, ys, 0.5, 0.5, rng.uniform(-0.15, 0.15))
        tex = _texture_mask(tu, tv, attrs['fill'], rng.uniform(0.06, 0.1),
                            rng.uniform(0, 2 * np.pi))
        _paint(canvas, mask & tex, color * rng.uniform(0.2, 0.5))
    canvas = canvas * rng.uniform(0.85, 1.15)
    return _finish(canvas, rng, size)


def _rng(seed, split, index):
    return np.random.RandomState(
        (seed * 1_000_003 + {'train': 0, 'test': 1, 'val': 1}[split] * 7_919 +
         index * 104_729) % (2 ** 32))


# --------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------
def write_finegrained(root, num_classes=32, train_per_class=20,
                      test_per_class=10, size=64, seed=0, progress=False):
    """Write the fine-grained task in the CUB-200-2011 folder layout.

    Returns the list of class names (also written to ``classes.txt``).
    """
    classes = finegrained_classes(num_classes)
    info = dict(version=GENERATOR_VERSION, task='finegrained', layout='CUB_200_2011',
                num_classes=num_classes, train_per_class=train_per_class,
                test_per_class=test_per_class, size=size, seed=seed)
    names = [c['name'] for c in classes]
    if not prepare_root(root, info, 'fine-grained birds dataset'):
        return names
    images, labels, splits = [], [], []
    index = 0
    bar = progress_bar(num_classes * (train_per_class + test_per_class), progress)
    for split, per_class in (('train', train_per_class), ('test', test_per_class)):
        for k in range(per_class):
            for label, attrs in enumerate(classes):
                rel = f"{attrs['name']}/{attrs['name'].split('.', 1)[1]}_{split}_{k:04d}.jpg"
                save_image(osp.join(root, 'images', rel),
                      render_bird(attrs, _rng(seed, split, index), size), 'jpg')
                index += 1
                bar.update()
                images.append(rel)
                labels.append(label + 1)
                splits.append(1 if split == 'train' else 0)
    ids = range(1, len(images) + 1)
    with open(osp.join(root, 'images.txt'), 'w') as f:
        f.writelines(f'{i} {p}\n' for i, p in zip(ids, images))
    with open(osp.join(root, 'image_class_labels.txt'), 'w') as f:
        f.writelines(f'{i} {c}\n' for i, c in zip(ids, labels))
    with open(osp.join(root, 'train_test_split.txt'), 'w') as f:
        f.writelines(f'{i} {s}\n' for i, s in zip(ids, splits))
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.writelines(f'{i + 1} {n}\n' for i, n in enumerate(names))
    write_info(root, info)
    return names


def write_shapes(root, num_classes=96, train_per_class=50, val_per_class=10,
                 size=64, seed=0, progress=False):
    """Write the pre-training task in mmpretrain's ``CustomDataset`` layout."""
    classes = shape_classes(num_classes)
    info = dict(version=GENERATOR_VERSION, task='shapes', layout='CustomDataset',
                num_classes=num_classes, train_per_class=train_per_class,
                val_per_class=val_per_class, size=size, seed=seed)
    names = [c['name'] for c in classes]
    if not prepare_root(root, info, 'shapes pre-training dataset'):
        return names
    index = 0
    bar = progress_bar(num_classes * (train_per_class + val_per_class), progress)
    for split, per_class in (('train', train_per_class), ('val', val_per_class)):
        for k in range(per_class):
            for label, attrs in enumerate(classes):
                # zero-padded label prefix keeps folder order == label order
                path = osp.join(root, split, f'{label:02d}_{attrs["name"]}',
                                f'{k:05d}.png')
                save_image(path, render_shape(attrs, _rng(seed + 1, split, index), size),
                      'png')
                index += 1
                bar.update()
    write_info(root, info)
    return names


def read_cub_classes(root):
    """Class names from a CUB-layout ``classes.txt`` (``"<id> <name>"`` lines)."""
    with open(osp.join(root, 'classes.txt')) as f:
        return [line.split(maxsplit=1)[1].strip() for line in f if line.strip()]


@one_line_errors
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Generate the embedded fine-grained (CUB layout) or shapes '
                    '(CustomDataset layout) dataset.')
    parser.add_argument('out', help='output directory (new or empty)')
    parser.add_argument('--task', choices=('finegrained', 'shapes'),
                        default='finegrained')
    parser.add_argument('--num-classes', type=int, default=None,
                        help='32 (finegrained) / 96 (shapes) by default')
    parser.add_argument('--train-per-class', type=int, default=None)
    parser.add_argument('--test-per-class', type=int, default=None,
                        help='test (finegrained) or val (shapes) images per class')
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    args = add_debug_flag(parser).parse_args(argv)
    if args.task == 'finegrained':
        names = write_finegrained(
            args.out, args.num_classes or 32, args.train_per_class or 20,
            args.test_per_class or 10, args.size, args.seed, progress=True)
    else:
        names = write_shapes(
            args.out, args.num_classes or 96, args.train_per_class or 50,
            args.test_per_class or 10, args.size, args.seed, progress=True)
    print(f'{args.task} dataset with {len(names)} classes in {args.out}')


if __name__ == '__main__':
    main()
