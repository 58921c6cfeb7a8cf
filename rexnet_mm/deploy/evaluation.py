"""COCO bbox AP of an exported detector under ONNX Runtime
(``tools/analysis/onnx_coco_eval.py``)."""
import os.path as osp

from ..images import image_input
from .export import ort_session


def coco_eval_onnx(path, ann_file, img_dir, shape, out_json):
    """Detect every image of ``ann_file`` with the exported SSD ``path`` (ONNX Runtime),
    boxes rescaled to the original images, written as COCO results ``out_json``; returns
    pycocotools' 12 bbox numbers (:func:`rexnet_mm.apis.evaluation.evaluate`)."""
    import json

    import mmcv

    from ..apis.evaluation import evaluate
    with open(ann_file) as f:
        coco = json.load(f)
    cat_ids = sorted(c['id'] for c in coco['categories'])
    session = ort_session(path)
    if session.get_modelmeta().custom_metadata_map.get('batch'):
        from ..errors import InvalidValueError
        raise InvalidValueError(f'{path}: a batched export (tools/deploy.py --batch); COCO '
                                f'evaluation runs one image at a time: export without --batch')
    results = []
    for info in coco['images']:
        img = mmcv.imread(osp.join(img_dir, info['file_name']))
        h0, w0 = img.shape[:2]
        boxes, scores, labels = session.run(None, {'image': image_input(img, shape)})[:3]
        sx, sy = w0 / shape[1], h0 / shape[0]
        for (x1, y1, x2, y2), s, c in zip(boxes, scores, labels):
            results.append(dict(image_id=info['id'], category_id=cat_ids[int(c)],
                                bbox=[float(x1 * sx), float(y1 * sy), float((x2 - x1) * sx),
                                      float((y2 - y1) * sy)], score=float(s)))
    with open(out_json, 'w') as f:
        json.dump(results, f)
    return evaluate(ann_file, bbox=out_json, verbose=False)['bbox']
