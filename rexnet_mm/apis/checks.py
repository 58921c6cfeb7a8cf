"""Pre-flight checks: what can be verified before a model or a dataset is built, so that
a missing file stops a run in one line that says how to fix it."""
import importlib
import os
import os.path as osp
import sys

from ..utils import config_dicts
from .config import ConfigError

#: Where converted ImageNet weights come from.
CHECKPOINT_HELP = 'docs/checkpoints.md'


def _walk_init_cfgs(node, key):
    """Yield ``(dotted key, init_cfg dict)`` for every init_cfg under ``node`` (an item
    of an init_cfg list as ``...init_cfg.0``, the form ``--cfg-options`` takes)."""
    for sub, item in config_dicts(node, key):
        parts = sub.split('.')
        if parts[-1] == 'init_cfg' or (parts[-1].isdigit() and parts[-2:-1] == ['init_cfg']):
            yield sub, item


def _datasets(dataset, key):
    """``(dotted key, dataset cfg)`` of ``dataset`` and every dataset it wraps
    (RepeatDataset's ``dataset``, ConcatDataset's ``datasets``): the dicts that name
    their data (``ann_file``, ``data_root`` or ``data_prefix``)."""
    for sub, item in config_dicts(dataset, key):
        if 'type' in item and any(k in item for k in ('ann_file', 'data_root', 'data_prefix')):
            yield sub, item


#: Specs only rexnet_mm fetches (mmengine knows neither scheme): fetched before the
#: model is built, so that a failure stops the run in one line before anything is written.
OUR_SCHEMES = ('rexnet_mm://', 'hf-hub:')


def pretrained_specs(cfg):
    """``[(dotted key, checkpoint)]`` of every ``Pretrained`` init of the model."""
    return [(key, init['checkpoint'])
            for key, init in _walk_init_cfgs(cfg.get('model', {}), 'model')
            if init.get('type') == 'Pretrained' and isinstance(init.get('checkpoint'), str)]


def missing_pretrained(cfg):
    """``[(dotted key, checkpoint path)]`` of local Pretrained files that do not exist."""
    return [(key, ckpt) for key, ckpt in pretrained_specs(cfg)
            if '://' not in ckpt and not ckpt.startswith(OUR_SCHEMES)
            and not osp.isfile(osp.expanduser(ckpt))]


def missing_checkpoint_message(key, ckpt):
    """One line: what is missing, how to get it, how to do without it."""
    parent = key[:-len('.init_cfg')] if key.endswith('.init_cfg') else key
    return (f'pretrained weights for {parent} not found at {ckpt!r}: name them instead '
            f'(e.g. {key}.checkpoint=rexnet_mm://rexnet-1.0; `python tools/fetch_weights.py '
            f'--list`) or convert a file with `python tools/convert_checkpoint.py SRC {ckpt}` '
            f'({CHECKPOINT_HELP}), or train from scratch with `--cfg-options {key}=None`')


def check_pretrained(cfg, restoring=False):
    """Stop on a missing ``Pretrained`` file and fetch the weights named by zoo name or
    hub id (one process at a time; cached after the first). When the weights are
    restored from a checkpoint anyway (``restoring``), a missing file or uncached name
    drops that init instead; returns the notes saying so."""
    from ..weights.download import cached, fetch
    notes = []
    for key, ckpt in missing_pretrained(cfg):
        if not restoring or key.split('.')[-1].isdigit():  # an item of an init_cfg list
            raise ConfigError(missing_checkpoint_message(key, ckpt))
        notes.append(f'note: {ckpt!r} ({key}) is missing; skipped because the weights are '
                     f'restored from a checkpoint')
        cfg.merge_from_dict({key: None})
    for key, ckpt in pretrained_specs(cfg):
        if not ckpt.startswith(OUR_SCHEMES):
            continue
        if restoring and not cached(ckpt) and not key.split('.')[-1].isdigit():
            notes.append(f'note: {ckpt} ({key}) not fetched: the weights are restored from '
                         f'a checkpoint')
            cfg.merge_from_dict({key: None})
            continue
        fetch(ckpt)
    return notes


def _dataset_files(dataset, key):
    """``(dotted key, annotation path)`` of a dataset cfg, through wrappers."""
    for sub, ds in _datasets(dataset, key):
        ann = ds.get('ann_file')
        if isinstance(ann, str) and ann and '://' not in ann:
            root = ds.get('data_root') or ''
            yield sub, ann if osp.isabs(ann) else osp.join(root, ann)


#: Folder layouts of the segmentation datasets our configs use (mmseg's dataset classes).
SEG_LAYOUTS = {
    'CityscapesDataset': 'leftImg8bit/{train,val}/<city>/*_leftImg8bit.png and '
                         'gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png (mmseg\'s '
                         'tools/dataset_converters/cityscapes.py makes the label files)',
    'ADE20KDataset': 'images/{training,validation}/*.jpg and '
                     'annotations/{training,validation}/*.png (ADEChallengeData2016)',
    'BaseSegDataset': 'img_dir/{train,val}/ and ann_dir/{train,val}/ (the demo data: '
                      '`python -m rexnet_mm.synthetic.shapes_seg --out DIR`)',
}


def _dataset_folders(dataset, key):
    """``(dotted key, dataset cfg, prefix name, folder)`` of mmseg-style ``data_prefix``
    folders (``img_path``, ``seg_map_path``)."""
    for sub, ds in _datasets(dataset, key):
        prefix = ds.get('data_prefix')
        if ds.get('type') in SEG_LAYOUTS and isinstance(prefix, dict):
            root = ds.get('data_root') or ''
            for name in ('img_path', 'seg_map_path'):
                if isinstance(prefix.get(name), str):
                    yield sub, ds, name, osp.join(root, prefix[name])


#: How to point a config at the data, in the one-line errors.
DATA_ROOT_HINT = ('pass --data-root DIR (it moves every dataset, evaluator and annotation '
                  'path of the config; or set data_root = \'DIR/\' in your config)')


def check_data(cfg, loaders):
    """Stop with one line if an annotation file or an image/label folder of these
    dataloaders, or the annotation file of their evaluators, is missing."""
    for loader in loaders:
        dataset = (cfg.get(loader) or {}).get('dataset')
        for key, path in _dataset_files(dataset, f'{loader}.dataset'):
            if not osp.isfile(path):
                raise ConfigError(
                    f'annotation file {path!r} ({key}) not found: {DATA_ROOT_HINT}; the '
                    f'demo data is made by `python -m rexnet_mm.synthetic.shapes_coco --out '
                    f'data/shapes_coco_v3`')
        for key, ds, _, path in _dataset_folders(dataset, f'{loader}.dataset'):
            if not osp.isdir(path):
                raise ConfigError(
                    f'{ds["type"]} folder {path!r} ({key}) not found: {DATA_ROOT_HINT}, a '
                    f'folder holding {SEG_LAYOUTS[ds["type"]]}')
        evaluator = loader.rsplit('_', 1)[0] + '_evaluator'  # train_dataloader: train_evaluator
        metrics = cfg.get(evaluator) if evaluator != loader else None
        for i, metric in enumerate(metrics if isinstance(metrics, (list, tuple))
                                   else [metrics]):
            ann = metric.get('ann_file') if isinstance(metric, dict) else None
            if isinstance(ann, str) and ann and '://' not in ann and not osp.isfile(ann):
                key = f'{evaluator}{f".{i}" if isinstance(metrics, (list, tuple)) else ""}'
                raise ConfigError(
                    f'annotation file {ann!r} ({key}.ann_file) not found: {DATA_ROOT_HINT}')


def _coco_datasets(dataset, key):
    """``(dotted key, dataset cfg)`` of the COCO-format datasets under ``dataset``."""
    for sub, ds in _datasets(dataset, key):
        if 'Coco' in str(ds.get('type', '')) and isinstance(ds.get('ann_file'), str):
            yield sub, ds


def _dataset_class(ds, toolbox):
    """The class ``ds['type']`` names in ``toolbox``'s DATASETS registry, or None."""
    try:
        registry = importlib.import_module(f'{toolbox}.registry').DATASETS
        return registry.get(str(ds['type']).split('.')[-1])
    except (ImportError, KeyError):
        return None


def _config_classes(dataset):
    classes = (dataset.get('metainfo') or {}).get('classes')
    if classes is None:
        cls = _dataset_class(dataset, 'mmdet')
        classes = getattr(cls, 'METAINFO', {}).get('classes')
    return tuple(classes) if classes is not None else None


def check_coco(cfg, loaders, warn=None):
    """COCO annotation files read before anything is built: invalid JSON, listed images
    missing from the image folder and a training set left empty by the config's classes
    stop in one line; annotations of categories outside the classes (mmdet drops them)
    are counted in one warning line."""
    import json
    warn = warn or (lambda line: print(line, file=sys.stderr))
    for loader in loaders:
        for key, ds in _coco_datasets((cfg.get(loader) or {}).get('dataset'),
                                      f'{loader}.dataset'):
            root = ds.get('data_root') or ''
            path = ds['ann_file'] if osp.isabs(ds['ann_file']) else osp.join(root, ds['ann_file'])
            if not osp.isfile(path):
                continue  # check_data reports it
            try:
                with open(path) as f:
                    coco = json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f'annotation file {path!r} ({key}) is not valid JSON ({exc}): it is '
                    f'truncated or corrupt; copy or regenerate it') from None
            if not isinstance(coco, dict) or not isinstance(coco.get('images'), list):
                raise ConfigError(f'annotation file {path!r} ({key}) is not COCO format '
                                  f'(no "images" list)')
            prefix = (ds.get('data_prefix') or {}).get('img', '')
            img_dir = osp.join(root, prefix)
            missing = [im.get('file_name') for im in coco['images']
                       if not osp.isfile(osp.join(img_dir, str(im.get('file_name'))))]
            if missing:
                raise ConfigError(
                    f'{len(missing)} of {len(coco["images"])} images listed in {path!r} are '
                    f'not in {img_dir!r} (first: {missing[0]!r}): set {key}.data_prefix.img '
                    f'to their folder, or remove them from the annotation file')
            classes = _config_classes(ds)
            if classes is None:
                continue
            known = {c['id'] for c in coco.get('categories', []) if c.get('name') in classes}
            anns = coco.get('annotations') or []
            dropped = [a for a in anns if a.get('category_id') not in known]
            if dropped:
                ids = sorted({a.get('category_id') for a in dropped}, key=str)
                warn(f'warning: {len(dropped)} of {len(anns)} annotations in {path!r} have '
                     f'category ids {ids[:5]} outside the config\'s classes; mmdet ignores '
                     f'them (set {key}.metainfo.classes to train on them)')
            filtering = (ds.get('filter_cfg') or {}).get('filter_empty_gt', False)
            if loader == 'train_dataloader' and filtering and not ds.get('test_mode'):
                kept = {a.get('image_id') for a in anns if a.get('category_id') in known}
                if not kept:
                    raise ConfigError(
                        f'no image in {path!r} ({key}) has an annotation of the config\'s '
                        f'classes {list(classes)[:5]}...: the training set would be empty '
                        f'after filter_empty_gt; check {key}.metainfo.classes against the '
                        f'file\'s categories')


def check_seg_labels(cfg, loaders, sample=20):
    """Label PNGs with values outside ``decode_head.num_classes`` that are not the ignore
    index stop in one line naming the file (torch's error would come from deep inside the
    loss, mid-training). Checks up to ``sample`` files per folder, spread over it."""
    import numpy as np
    from PIL import Image
    head = (cfg.get('model') or {}).get('decode_head')
    head = head[-1] if isinstance(head, (list, tuple)) else head
    if not isinstance(head, dict) or not isinstance(head.get('num_classes'), int):
        return
    num_classes = head['num_classes']
    for loader in loaders:
        dataset = (cfg.get(loader) or {}).get('dataset')
        for key, ds, name, folder in _dataset_folders(dataset, f'{loader}.dataset'):
            if name != 'seg_map_path' or not osp.isdir(folder):
                continue
            # the dataset class's own defaults where the config is silent (Cityscapes:
            # '_gtFine_labelTrainIds.png'; ADE20K: reduce_zero_label=True)
            suffix = _dataset_arg(ds, 'seg_map_suffix', '.png')
            ignore = _dataset_arg(ds, 'ignore_index', 255)
            # reduce_zero_label: 0 becomes the ignore index and 1..N the classes 0..N-1
            shift = 1 if _dataset_arg(ds, 'reduce_zero_label', False) else 0
            files = sorted(os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs
                           if f.endswith(suffix))
            step = max(1, len(files) // sample)
            for path in files[::step][:sample]:
                values = np.unique(np.asarray(Image.open(path)))
                bad = [int(v) for v in values if v != ignore and not (shift and v == 0)
                       and not shift <= v < num_classes + shift]
                if bad:
                    raise ConfigError(
                        f'label map {path!r} ({key}) has values {bad[:8]} outside '
                        f'{shift}..{num_classes - 1 + shift} (decode_head.num_classes='
                        f'{num_classes}{", reduce_zero_label" if shift else ""}) and not the '
                        f'ignore index {ignore}: convert the labels to train ids (e.g. '
                        f'mmseg\'s tools/dataset_converters) or fix num_classes')


def _dataset_arg(ds, name, default):
    """``ds[name]``, else the default of that argument in the dataset class's __init__."""
    if name in ds:
        return ds[name]
    import inspect
    cls = _dataset_class(ds, 'mmseg')
    param = inspect.signature(cls.__init__).parameters.get(name) if cls else None
    return default if param is None or param.default is inspect.Parameter.empty \
        else param.default


def _backbone_channels(cfg):
    """Channels of each output of the config's backbone (built alone, random weights):
    its ``out_channels`` (ours) or a 64 px forward pass; None where neither works. A
    backbone that cannot be built (unknown arch, ``out_indices`` / ``frozen_stages`` out
    of range) stops here in one line instead of in a traceback from the Runner."""
    import torch
    from mmengine.registry import MODELS
    from ..fixes import default_scope
    model = cfg.get('model') or {}
    backbone_cfg = model.get('backbone')
    if not isinstance(backbone_cfg, dict):
        return None
    backbone_cfg = dict(backbone_cfg, init_cfg=None)
    backbone_cfg.pop('pretrained', None)
    try:
        with default_scope(cfg.get('default_scope')):
            backbone = MODELS.build(backbone_cfg)
    except (KeyError, ValueError, TypeError) as exc:  # bad arch, out_indices, arguments
        reason = str(exc.args[0] if exc.args else exc).splitlines()[0]
        raise ConfigError(f'model.backbone ({backbone_cfg.get("type")}) cannot be built: '
                          f'{reason}') from None
    except Exception:  # noqa: BLE001 - anything else is reported by the real build
        return None
    channels = getattr(backbone, 'out_channels', None)
    if isinstance(channels, (tuple, list)) and all(isinstance(c, int) for c in channels):
        return list(channels)
    try:
        with torch.no_grad():
            outs = backbone.eval()(torch.zeros(1, 3, 64, 64))
    except Exception:  # noqa: BLE001
        return None
    outs = outs if isinstance(outs, (tuple, list)) else [outs]
    return [int(o.shape[1]) for o in outs]


def check_channels(cfg):
    """Stop with one line if the backbone cannot be built, or, naming both lists, if the
    neck (or a neck-less segmentation head) expects other input channels than the
    backbone's outputs."""
    model = cfg.get('model') or {}
    neck = model.get('neck')
    neck = neck[0] if isinstance(neck, (list, tuple)) and neck else neck
    head = model.get('decode_head')
    if isinstance(neck, dict) and isinstance(neck.get('in_channels'), (list, tuple)):
        key, expected = 'model.neck.in_channels', list(neck['in_channels'])
        select = None
    elif neck is None and isinstance(head, dict) and 'in_channels' in head:
        key, expected = 'model.decode_head.in_channels', head['in_channels']
        select = head.get('in_index', -1)
    else:
        return
    channels = _backbone_channels(cfg)
    if channels is None:
        return
    if select is None:
        got = channels
    elif isinstance(select, (list, tuple)):
        got = [channels[i] for i in select if -len(channels) <= i < len(channels)]
    else:
        got = channels[select] if -len(channels) <= select < len(channels) else None
    if isinstance(expected, (list, tuple)):
        expected = list(expected)
    if got != expected:
        where = '' if select is None else f' (in_index {select})'
        raise ConfigError(
            f'{key} is {expected} but the backbone ({model["backbone"].get("type")}, '
            f'out_indices {model["backbone"].get("out_indices")}) gives {got}{where}: set '
            f'{key} to {got} or change the backbone\'s out_indices')
