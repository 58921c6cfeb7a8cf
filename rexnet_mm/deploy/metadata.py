"""The exported file's contract, in its ONNX ``metadata_props`` (strings; JSON for
lists): what goes in, how an image is resized into it, what comes out and in which
frame. :func:`export_metadata` writes it (``tools/deploy.py``), :func:`read_contract`
reads it back (:class:`rexnet_mm.deploy.predictor.OnnxPredictor`)."""
import json

from ..errors import InvalidValueError

#: The model kinds (:func:`rexnet_mm.deploy.kinds.model_kind`) whose outputs are boxes.
DETECTORS = ('ssd', 'rcnn', 'maskrcnn')

#: What each output holds, by model kind (also in the file's metadata, ``outputs``).
OUTPUTS = {
    'classifier': [('scores', 'N x classes', 'float32 softmax scores')],
    'segmentor': [('labels', 'N x H x W', 'int64 class index per pixel of the input')],
    'ssd': [('boxes', 'K x 4', 'float32 x1, y1, x2, y2 in pixels of the resized input'),
            ('scores', 'K', 'float32, best first, every detection >= score_thr'),
            ('labels', 'K', 'int64 index into classes')],
}
OUTPUTS['rcnn'] = OUTPUTS['ssd']
OUTPUTS['maskrcnn'] = OUTPUTS['ssd'] + [
    ('masks', 'K x M x M', 'float32 probability of the detection\'s class on the mask '
     'head\'s M x M grid over its box (M = 28 for Mask R-CNN); paste and threshold: '
     'rexnet_mm.deploy.masks.paste_masks(masks, boxes, (H, W), mask_thr_binary)')]

#: A detector's outputs exported with a fixed batch (``--batch N``): mmdeploy's padded
#: form, K = max_per_img.
BATCHED_OUTPUTS = [
    ('dets', 'N x K x 5', 'float32 x1, y1, x2, y2, score per image, best first, in pixels '
     'of the resized input; rows past the image\'s detections are zeros'),
    ('labels', 'N x K', 'int64 index into classes; -1 in the padding rows')]


def outputs(kind, batch=None):
    """What each output of a ``kind`` file holds: (name, shape, meaning)."""
    if batch is None:
        return OUTPUTS[kind]
    rest = [('masks', 'N x K x M x M', 'the masks output per image, zeros in the '
             'padding')] if kind == 'maskrcnn' else []
    return BATCHED_OUTPUTS + rest


def num_model_classes(model):
    """How many classes the model predicts (its head's ``num_classes``), else None."""
    for path in ('head', 'bbox_head', 'roi_head.bbox_head', 'decode_head'):
        node = model
        for name in path.split('.'):
            node = getattr(node, name, None)
        if node is not None and isinstance(getattr(node, 'num_classes', None), int):
            return node.num_classes
    return None


def _config_classes(cfg):
    """The config's test dataset's class names (``metainfo.classes``, mmpretrain's
    ``classes``, else its dataset class's ``METAINFO``), else None."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    while isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ...
        dataset = dataset['dataset']
    classes = (dataset.get('metainfo') or {}).get('classes')
    if not classes and isinstance(dataset.get('classes'), (list, tuple)):
        classes = dataset['classes']
    if not classes and dataset.get('type'):
        from ..apis.checks import _dataset_class
        cls = _dataset_class(dataset, cfg.get('default_scope') or 'mmdet')
        classes = getattr(cls, 'METAINFO', {}).get('classes')
    return [str(c) for c in classes] if classes else None


def model_classes(model, cfg):
    """The class names: the checkpoint's ``dataset_meta``, else the config's test dataset
    (``metainfo.classes`` or ``classes``, else its dataset class's), else None. Names of
    another count than the model's classes are not used (e.g. mmpretrain's ``CUB`` names
    its labels after CUB's 200 birds whatever the data): the checkpoint's are skipped
    for the config's; the config's stop the export with a one-line error."""
    count = num_model_classes(model)
    meta = getattr(model, 'dataset_meta', None) or {}
    if meta.get('classes') and (count is None or len(meta['classes']) == count):
        return [str(c) for c in meta['classes']]
    classes = _config_classes(cfg)
    if classes and count is not None and len(classes) != count:
        raise InvalidValueError(
            f'the config\'s test dataset names {len(classes)} classes but the model '
            f'predicts {count}: set the dataset\'s class names (mmpretrain: '
            f'classes=[...]; mmdet/mmseg: metainfo=dict(classes=[...])) in the config')
    return classes


def score_threshold(model, kind):
    """The detector's ``score_thr`` (what the graph keeps), else None."""
    if kind == 'ssd':
        return float(model.bbox_head.test_cfg.get('score_thr', 0))
    if kind in ('rcnn', 'maskrcnn'):
        return float(model.roi_head.test_cfg.get('score_thr', 0))
    return None


def export_metadata(model, cfg, kind, shape, dynamic, batch=None):
    """The contract of the exported file, as ONNX ``metadata_props`` (strings; JSON for
    lists): what goes in, how an image is resized into it, what comes out and in which
    frame; ``batch``: the fixed batch of a detector (``batch`` key, padded outputs).
    :func:`read_contract` reads it back."""
    from ..version import __version__
    h, w = (int(v) for v in shape)
    meta = {
        'producer': f'rexnet_mm {__version__} (tools/deploy.py)',
        'model_kind': kind,
        'classes': json.dumps(model_classes(model, cfg)),
        'input_name': 'image',
        'input_layout': 'NCHW float32, N x 3 x H x W' + (
            f', N = {batch} (fixed)' if batch else ''),
        'input_size': json.dumps([h, w]),
        'input_dynamic': json.dumps(bool(dynamic)),
        'color_order': 'BGR',
        'input_range': '0-255 (what cv2.imread / mmcv.imread give); mean/std and BGR->RGB '
                       'are inside the graph',
        'resize': json.dumps(dict(
            size=[h, w], keep_ratio=False, interpolation='bilinear', padding=None,
            how=f'cv2.resize(img, ({w}, {h}), interpolation=cv2.INTER_LINEAR): the whole '
                f'image stretched to {w}x{h} (W x H), no crop, no padding')),
        'outputs': json.dumps([dict(name=n, shape=s, meaning=m)
                               for n, s, m in outputs(kind, batch)]),
    }
    if kind in DETECTORS:
        meta['box_frame'] = (f'pixels of the resized {w}x{h} input, x1 y1 x2 y2; in the '
                             f'original W0 x H0 image: x * W0 / {w}, y * H0 / {h}')
        meta['score_thr'] = json.dumps(score_threshold(model, kind))
    if kind == 'maskrcnn':
        meta['mask_thr_binary'] = json.dumps(float(model.roi_head.test_cfg.mask_thr_binary))
    if batch:
        meta['batch'] = json.dumps(int(batch))
    if kind == 'segmentor':
        meta['label_frame'] = ('pixels of the resized input; in the original image: resize '
                               'the label map back (nearest)')
    return meta


def read_contract(session):
    """The metadata of a session's model (``tools/deploy.py``'s), JSON values decoded:
    ``session`` a :mod:`.runtimes` session (``metadata()``) or an ONNX Runtime one."""
    raw = session.metadata() if hasattr(session, 'metadata') else \
        session.get_modelmeta().custom_metadata_map
    if 'model_kind' not in raw or 'input_size' not in raw:
        raise InvalidValueError('this ONNX file has no rexnet_mm metadata (model_kind, '
                                'input_size): export it again with tools/deploy.py')
    meta = dict(raw)
    for key in ('classes', 'input_size', 'input_dynamic', 'resize', 'outputs', 'score_thr',
                'mask_thr_binary', 'batch'):
        if key in meta:
            meta[key] = json.loads(meta[key])
    return meta
