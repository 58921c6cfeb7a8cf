"""Score COCO-format results (bbox and/or segm) against an annotation file.

    python tools/coco_eval.py ANN_JSON --bbox RESULTS.bbox.json [--segm RESULTS.segm.json]
    python tools/coco_eval.py ANN_JSON --prefix work_dirs/x/results   # PREFIX.{bbox,segm}.json

Uses pycocotools' COCOeval (:func:`rexnet_mm.apis.coco_evaluate`) and prints, per IoU
type, the standard table of 12 numbers (AP, AP50, AP75, AP small/medium/large,
AR@1/10/100, AR small/medium/large). ``--min-ap50 X`` exits with status 1 when bbox
AP@0.5 is below X.
"""
import argparse
import os.path as osp
import sys

from . import add_debug_flag, console, one_line_errors, prog


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='COCO bbox/segm evaluation of a results JSON with pycocotools.')
    parser.add_argument('ann_file', help='COCO annotation JSON (ground truth)')
    parser.add_argument('--bbox', help='COCO results JSON with boxes')
    parser.add_argument('--segm', help='COCO results JSON with RLE masks')
    parser.add_argument('--prefix', help='use PREFIX.bbox.json and PREFIX.segm.json '
                        '(those that exist), as written by tools/test.py --json-prefix')
    parser.add_argument('--min-ap50', type=float, default=None,
                        help='exit with status 1 if bbox AP@0.5 is below this value')
    return add_debug_flag(parser).parse_args(argv)


@one_line_errors
def main(argv=None):
    from ..apis.evaluation import STAT_NAMES, evaluate
    args = parse_args(argv)
    bbox, segm = args.bbox, args.segm
    if args.prefix:
        bbox = bbox or (f'{args.prefix}.bbox.json'
                        if osp.isfile(f'{args.prefix}.bbox.json') else None)
        segm = segm or (f'{args.prefix}.segm.json'
                        if osp.isfile(f'{args.prefix}.segm.json') else None)
        if not (bbox or segm):
            sys.exit(f'error: neither {args.prefix}.bbox.json nor {args.prefix}.segm.json exists')
    stats = evaluate(args.ann_file, bbox=bbox, segm=segm)
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


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
