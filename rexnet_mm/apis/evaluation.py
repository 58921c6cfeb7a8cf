"""COCO evaluation of results files with pycocotools (``tools/coco_eval.py``)."""
import contextlib
import io
import json
import os.path as osp

from ..errors import InvalidValueError, MissingFileError

STAT_NAMES = ('AP', 'AP50', 'AP75', 'AP_small', 'AP_medium', 'AP_large',
              'AR_1', 'AR_10', 'AR_100', 'AR_small', 'AR_medium', 'AR_large')


def _load_results(path):
    if not osp.isfile(path):
        raise MissingFileError(f'results file {path!r} does not exist')
    with open(path) as f:
        try:
            results = json.load(f)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise InvalidValueError(f'{path!r} is not valid JSON ({exc}): write it again '
                                    f'(tools/test.py --json-prefix)') from None
    if not isinstance(results, list):
        raise InvalidValueError(f'{path!r} is not a COCO results file (a JSON list of '
                                f'{{"image_id", "category_id", "bbox"|"segmentation", '
                                f'"score"}})')
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
        raise MissingFileError(f'annotation file {ann_file!r} does not exist')
    todo = [(t, p) for t, p in (('bbox', bbox), ('segm', segm)) if p]
    if not todo:
        raise InvalidValueError('give at least one results file (bbox and/or segm)')
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
