"""PNG figures for training runs: predicted boxes or masks on images, and loss curves.

Both read only files that the tools write, so they work on any finished run::

    # boxes of a COCO results JSON (tools/test.py --json-prefix) on validation images
    python -m rexnet_mm.analysis.plots boxes data/shapes_coco_v3/annotations/instances_val.json \\
        --img-dir data/shapes_coco_v3/val --results work_dirs/demo/results.bbox.json \\
        --out work_dirs/demo/predictions.png
    # training losses (and validation bbox mAP) from an mmengine work dir
    python -m rexnet_mm.analysis.plots loss work_dirs/demo --out work_dirs/demo/loss_curve.png
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from collections import defaultdict

import numpy as np

from ..errors import InvalidValueError, MissingFileError, UserError

_COLOURS = ('#e6194b', '#0082c8', '#3cb44b', '#f58231', '#911eb4', '#46f0f0',
            '#f032e6', '#d2f53c', '#fabebe', '#008080')


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


# --------------------------------------------------------------------------
# loss curves
# --------------------------------------------------------------------------
def find_scalars(work_dir):
    """The newest ``<timestamp>/vis_data/scalars.json`` under an mmengine work dir."""
    if osp.isfile(work_dir):
        return work_dir
    paths = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    paths = [p for p in paths if os.path.getsize(p) > 0]
    if not paths:
        raise MissingFileError(
            f'no */vis_data/scalars.json under {work_dir!r}: is it the --work-dir of a '
            f'training run (mmengine LocalVisBackend)?')
    return max(paths, key=lambda p: (osp.getmtime(p), p))


def read_scalars(path):
    """Training and validation records of an mmengine ``scalars.json``.

    Returns ``(train, val)``: ``train`` maps each logged key (``loss``,
    ``loss_cls``, ``lr``, ...) to ``(iters, values)`` arrays; ``val`` maps each
    metric (``coco/bbox_mAP_50``, ...) to ``(steps, values)``.
    """
    train, val = defaultdict(lambda: ([], [])), defaultdict(lambda: ([], []))
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if 'iter' in rec and any(k.startswith('loss') for k in rec):
                for key, value in rec.items():
                    if isinstance(value, (int, float)) and key not in ('iter', 'epoch', 'step'):
                        train[key][0].append(rec['iter'])
                        train[key][1].append(value)
            elif 'step' in rec:
                for key, value in rec.items():
                    if isinstance(value, (int, float)) and (
                            '/' in key or key in ('mIoU', 'mAcc', 'aAcc')):
                        val[key][0].append(rec['step'])
                        val[key][1].append(value)
    as_arrays = lambda d: {k: (np.asarray(x), np.asarray(y)) for k, (x, y) in d.items()}  # noqa
    return as_arrays(train), as_arrays(val)


def plot_loss_curve(work_dir_or_scalars, out_png, title=None):
    """Plot every ``loss*`` key against the iteration (and val mAPs, if logged).

    Returns the path written. Raises FileNotFoundError without logged losses.
    """
    path = find_scalars(work_dir_or_scalars)
    train, val = read_scalars(path)
    losses = sorted(k for k in train if k.startswith('loss'))
    if not losses:
        raise MissingFileError(f'{path} holds no training losses yet')
    maps = sorted(k for k in val if k.endswith(('bbox_mAP', 'bbox_mAP_50', 'segm_mAP', 'mIoU')))
    plt = _pyplot()
    ncols = 2 if maps else 1
    fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4), squeeze=False)
    ax = axes[0, 0]
    for i, key in enumerate(losses):
        it, value = train[key]
        ax.plot(it, value, lw=2.0 if key == 'loss' else 1.0,
                color='k' if key == 'loss' else _COLOURS[i % len(_COLOURS)], label=key)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.set_yscale('log')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or 'training loss')
    if maps:
        ax = axes[0, 1]
        for i, key in enumerate(maps):
            step, value = val[key]
            ax.plot(step, value, marker='o', color=_COLOURS[i % len(_COLOURS)], label=key)
        ax.set_xlabel('validation step (epoch or iteration)')
        ax.set_xlim(0, max(float(val[k][0].max()) for k in maps) * 1.05 + 1)
        ax.set_ylim(0, 100 if any(k == 'mIoU' for k in maps) else 1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title('validation')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_png)), exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


# --------------------------------------------------------------------------
# predicted boxes
# --------------------------------------------------------------------------
def draw_detections(ann_file, img_dir, results, out_png, score_thr=0.3, num_images=8,
                    cols=4, show_gt=True):
    """Draw predicted boxes of a COCO results JSON on the first validation images.

    Args:
        ann_file (str): COCO annotation file (image names, categories, GT boxes).
        img_dir (str): folder of the images named in ``ann_file``.
        results (str | list): COCO results JSON (or its loaded list).
        out_png (str): figure to write.
        score_thr (float): hide predictions below this score.
        num_images (int): images in the grid (the first ``num_images`` by id).
        show_gt (bool): ground-truth boxes as dashed white outlines.

    Returns the path written.
    """
    from PIL import Image

    with open(ann_file) as f:
        coco = json.load(f)
    if isinstance(results, str):
        with open(results) as f:
            results = json.load(f)
    names = {c['id']: c['name'] for c in coco['categories']}
    colour = {cid: _COLOURS[i % len(_COLOURS)] for i, cid in enumerate(sorted(names))}
    images = sorted(coco['images'], key=lambda im: im['id'])[:num_images]
    if not images:
        raise InvalidValueError(f'{ann_file} lists no images')
    preds, gts = defaultdict(list), defaultdict(list)
    for r in results:
        if r.get('score', 1.0) >= score_thr:
            preds[r['image_id']].append(r)
    for a in coco['annotations']:
        gts[a['image_id']].append(a)

    plt = _pyplot()
    from matplotlib.patches import Rectangle
    rows = int(np.ceil(len(images) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis('off')
    for ax, im in zip(axes.flat, images):
        ax.imshow(Image.open(osp.join(img_dir, im['file_name'])).convert('RGB'))
        if show_gt:
            for a in gts[im['id']]:
                x, y, w, h = a['bbox']
                ax.add_patch(Rectangle((x, y), w, h, fill=False, ec='white', lw=1, ls='--'))
        for r in sorted(preds[im['id']], key=lambda r: r['score']):
            x, y, w, h = r['bbox']
            c = colour.get(r['category_id'], 'yellow')
            ax.add_patch(Rectangle((x, y), w, h, fill=False, ec=c, lw=2))
            ax.text(x, y, f"{names.get(r['category_id'], r['category_id'])} {r['score']:.2f}",
                    color='white', fontsize=7, va='bottom',
                    bbox=dict(facecolor=c, alpha=0.8, pad=1, lw=0))
        ax.set_title(f"{im['file_name']}: {len(preds[im['id']])} boxes", fontsize=8)
    fig.suptitle(f'predictions (score >= {score_thr}); dashed: ground truth', fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_png)), exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


# --------------------------------------------------------------------------
# predicted masks
# --------------------------------------------------------------------------
def draw_segmentation(img_dir, ann_dir, pred_dir, palette, out_png, num_images=6,
                      img_suffix='.jpg', class_names=None, ignore_index=255):
    """Rows of image | ground truth | prediction for the first images of ``img_dir``.

    ``ann_dir`` and ``pred_dir`` hold label PNGs of the same names (``pred_dir``: what
    ``tools/test.py --out DIR`` writes for mmseg configs); ``palette`` colours the
    classes, ignored pixels are white. Returns the path written.
    """
    from PIL import Image

    names = sorted(f for f in os.listdir(img_dir) if f.endswith(img_suffix))[:num_images]
    if not names:
        raise MissingFileError(f'no *{img_suffix} images in {img_dir!r}')
    colours = np.full((256, 3), 255, np.uint8)
    colours[:len(palette)] = np.asarray(palette, np.uint8)
    plt = _pyplot()
    fig, axes = plt.subplots(len(names), 3, figsize=(7.5, 2.5 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        stem = osp.splitext(name)[0]
        pred_path = osp.join(pred_dir, stem + '.png')
        if not osp.isfile(pred_path):
            raise MissingFileError(f'no prediction {pred_path!r}: run tools/test.py with '
                                    f'--out {pred_dir}')
        gt = np.asarray(Image.open(osp.join(ann_dir, stem + '.png')))
        pred = np.asarray(Image.open(pred_path))
        row[0].imshow(Image.open(osp.join(img_dir, name)).convert('RGB'))
        row[1].imshow(colours[gt])
        row[2].imshow(colours[pred])
        valid = gt != ignore_index
        acc = float((pred[valid] == gt[valid]).mean()) if valid.any() else float('nan')
        for ax, title in zip(row, (name, 'ground truth (white: ignored)',
                                   f'prediction ({100 * acc:.1f}% pixels right)')):
            ax.set_title(title, fontsize=8)
            ax.axis('off')
    if class_names:
        from matplotlib.patches import Patch
        fig.legend(handles=[Patch(color=colours[i] / 255, label=n)
                            for i, n in enumerate(class_names)],
                   loc='lower center', ncol=len(class_names), fontsize=8)
    fig.tight_layout(rect=(0, 0.03 if class_names else 0, 1, 1))
    os.makedirs(osp.dirname(osp.abspath(out_png)), exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


def main(argv=None):
    parser = argparse.ArgumentParser(description='Draw predicted boxes, masks or loss '
                                                 'curves as PNG.')
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('boxes', help='predicted boxes of a COCO results JSON on images')
    p.add_argument('ann_file')
    p.add_argument('--img-dir', required=True)
    p.add_argument('--results', required=True, help='COCO results JSON (bbox)')
    p.add_argument('--out', required=True)
    p.add_argument('--score-thr', type=float, default=0.3)
    p.add_argument('--num-images', type=int, default=8)
    p = sub.add_parser('masks', help='predicted label maps next to the ground truth')
    p.add_argument('data_root', help='mmseg layout: img_dir/<split>, ann_dir/<split>')
    p.add_argument('--pred-dir', required=True, help='label PNGs of tools/test.py --out')
    p.add_argument('--split', default='val')
    p.add_argument('--out', required=True)
    p.add_argument('--num-images', type=int, default=6)
    p = sub.add_parser('loss', help='loss curve of an mmengine work dir')
    p.add_argument('work_dir', help='work dir (or a scalars.json file)')
    p.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    try:
        if args.cmd == 'boxes':
            path = draw_detections(args.ann_file, args.img_dir, args.results, args.out,
                                   args.score_thr, args.num_images)
        elif args.cmd == 'masks':
            from ..synthetic.shapes_seg import CLASSES, PALETTE
            path = draw_segmentation(osp.join(args.data_root, 'img_dir', args.split),
                                     osp.join(args.data_root, 'ann_dir', args.split),
                                     args.pred_dir, PALETTE, args.out, args.num_images,
                                     class_names=CLASSES)
        else:
            path = plot_loss_curve(args.work_dir, args.out)
    except UserError as exc:
        sys.exit(f'error: {exc}')
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
