#!/usr/bin/env python
"""Score COCO-format results (bbox and/or segm) against an annotation file.

    python tools/coco_eval.py ANN_JSON --bbox RESULTS.bbox.json [--segm RESULTS.segm.json]
    python tools/coco_eval.py ANN_JSON --prefix work_dirs/x/results   # PREFIX.{bbox,segm}.json

Uses pycocotools' COCOeval and prints, per IoU type, the standard table of 12
numbers (AP, AP50, AP75, AP small/medium/large, AR@1/10/100, AR small/medium/
large). ``--min-ap50 X`` exits with status 1 when bbox AP@0.5 is below X.
From Python::

    from coco_eval import evaluate      # tools/ on sys.path
    stats = evaluate('instances_val.json', bbox='res.bbox.json')['bbox']  # 12 floats
"""
import argparse
import contextlib
import io
import json
import os.path as osp
import sys

STAT_NAMES = ('AP', 'AP50', 'AP75', 'AP_small', 'AP_medium', 'AP_large',
              'AR_1', 'AR_10', 'AR_100', 'AR_small', 'AR_medium', 'AR_large')


def _load_results(path):
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file {path!r} does not exist')
    with open(path) as f:
        results = json.load(f)
    if not isinstance(results, list):
        raise ValueError(f'{path!r} is not a COCO results file (a JSON list of '
                         f'{{"image_id", "category_id", "bbox"|"segmentation", "score"}})')
    return results


def evaluate(ann_file, bbox=None, segm=None, verbose=True):
    """COCO metrics of result files against ``ann_file``.

    Args:
        ann_file (str): COCO annotation JSON (ground truth).
        bbox (str, optional): results JSON with ``bbox`` entries.
        segm (str, optional): results JSON with ``segmentation`` (RLE) entries.
        verbose (bool): print pycocotools' 12-line table per IoU type.

    Returns:
        dict: ``{'bbox': [12 floats], 'segm': [...]}`` for the types given
        (pycocotools' ``COCOeval.stats``; -1 where a category of object size
        has no ground truth).
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file!r} does not exist')
    todo = [(t, p) for t, p in (('bbox', bbox), ('segm', segm)) if p]
    if not todo:
        raise ValueError('give at least one results file (bbox and/or segm)')
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
    out = {}
    for iou_type, path in todo:
        results = _load_results(path)
        if not results:  # pycocotools cannot load an empty list: nothing detected
            out[iou_type] = [0.0] * 6 + [0.0] * 6
            if verbose:
                print(f'{iou_type}: no detections in {path}; every metric is 0')
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            dt = gt.loadRes(results)
        coco_eval = COCOeval(gt, dt, iou_type)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        if verbose:
            print(f'--- {iou_type} ({len(results)} results, '
                  f'{len(gt.getImgIds())} images) ---')
            print(buf.getvalue().rstrip())
        out[iou_type] = [float(s) for s in coco_eval.stats]
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='COCO bbox/segm evaluation of a results JSON with pycocotools.')
    parser.add_argument('ann_file', help='COCO annotation JSON (ground truth)')
    parser.add_argument('--bbox', help='COCO results JSON with boxes')
    parser.add_argument('--segm', help='COCO results JSON with RLE masks')
    parser.add_argument('--prefix', help='use PREFIX.bbox.json and PREFIX.segm.json '
                        '(those that exist), as written by tools/test.py --json-prefix')
    parser.add_argument('--min-ap50', type=float, default=None,
                        help='exit with status 1 if bbox AP@0.5 is below this value')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    bbox, segm = args.bbox, args.segm
    if args.prefix:
        bbox = bbox or (f'{args.prefix}.bbox.json'
                        if osp.isfile(f'{args.prefix}.bbox.json') else None)
        segm = segm or (f'{args.prefix}.segm.json'
                        if osp.isfile(f'{args.prefix}.segm.json') else None)
        if not (bbox or segm):
            sys.exit(f'error: neither {args.prefix}.bbox.json nor {args.prefix}.segm.json exists')
    try:
        stats = evaluate(args.ann_file, bbox=bbox, segm=segm)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'error: {exc}')
    for iou_type, values in stats.items():
        print(f'{iou_type}: ' + ' '.join(f'{n}={v:.3f}' for n, v in
                                         zip(STAT_NAMES[:3], values[:3])))
    if args.min_ap50 is not None:
        if 'bbox' not in stats:
            sys.exit('error: --min-ap50 needs bbox results')
        if stats['bbox'][1] < args.min_ap50:
            sys.exit(f'FAILED: bbox AP@0.5 {stats["bbox"][1]:.3f} < {args.min_ap50}')
        print(f'OK: bbox AP@0.5 {stats["bbox"][1]:.3f} >= {args.min_ap50}')
    return stats


if __name__ == '__main__':
    main()
