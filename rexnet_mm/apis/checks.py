"""Pre-flight checks: what can be verified before a model or a dataset is built, so that
a missing file stops a run in one line that says how to fix it."""
import os.path as osp

from .config import ConfigError

#: Where converted ImageNet weights come from.
CHECKPOINT_HELP = 'docs/checkpoints.md'


def _walk_init_cfgs(node, key):
    """Yield ``(dotted key, init_cfg dict)`` for every init_cfg under ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            sub = f'{key}.{k}'
            if k == 'init_cfg' and v is not None:
                for item in (v if isinstance(v, (list, tuple)) else [v]):
                    if isinstance(item, dict):
                        yield sub, item
            else:
                yield from _walk_init_cfgs(v, sub)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _walk_init_cfgs(v, f'{key}[{i}]')


def missing_pretrained(cfg):
    """``[(dotted key, checkpoint path)]`` of local Pretrained files that do not exist."""
    missing = []
    for key, init in _walk_init_cfgs(cfg.get('model', {}), 'model'):
        ckpt = init.get('checkpoint')
        if init.get('type') != 'Pretrained' or not isinstance(ckpt, str):
            continue
        if '://' in ckpt:  # URLs, open-mmlab://, torchvision://: mmengine fetches them
            continue
        if not osp.isfile(osp.expanduser(ckpt)):
            missing.append((key, ckpt))
    return missing


def missing_checkpoint_message(key, ckpt):
    """One line: what is missing, how to get it, how to do without it."""
    parent = key[:-len('.init_cfg')] if key.endswith('.init_cfg') else key
    return (f'pretrained weights for {parent} not found at {ckpt!r}: convert the '
            f'released ImageNet weights with `python tools/convert_checkpoint.py SRC {ckpt}` '
            f'({CHECKPOINT_HELP}), or train from scratch with `--cfg-options {key}=None`')


def check_pretrained(cfg, restoring=False):
    """Stop on a missing ``Pretrained`` file; when the weights are restored from a
    checkpoint anyway (``restoring``), drop that init instead and return the notes."""
    notes = []
    for key, ckpt in missing_pretrained(cfg):
        if not restoring or '[' in key:
            raise ConfigError(missing_checkpoint_message(key, ckpt))
        notes.append(f'note: {ckpt!r} ({key}) is missing; skipped because the weights are '
                     f'restored from a checkpoint')
        cfg.merge_from_dict({key: None})
    return notes


def _dataset_files(dataset, key):
    """``(dotted key, annotation path)`` of a dataset cfg, through wrappers."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('dataset'), dict):  # RepeatDataset, ClassBalanced...
        yield from _dataset_files(dataset['dataset'], f'{key}.dataset')
    for i, sub in enumerate(dataset.get('datasets') or []):  # ConcatDataset
        yield from _dataset_files(sub, f'{key}.datasets[{i}]')
    ann = dataset.get('ann_file')
    if isinstance(ann, str) and ann and '://' not in ann:
        root = dataset.get('data_root') or ''
        yield key, ann if osp.isabs(ann) else osp.join(root, ann)


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
    """``(dotted key, dataset type, folder)`` of mmseg-style ``data_prefix`` folders."""
    if not isinstance(dataset, dict):
        return
    if isinstance(dataset.get('dataset'), dict):
        yield from _dataset_folders(dataset['dataset'], f'{key}.dataset')
    prefix = dataset.get('data_prefix')
    if dataset.get('type') in SEG_LAYOUTS and isinstance(prefix, dict):
        root = dataset.get('data_root') or ''
        for name in ('img_path', 'seg_map_path'):
            if isinstance(prefix.get(name), str):
                yield key, dataset['type'], osp.join(root, prefix[name])


def check_data(cfg, loaders):
    """Stop with one line if an annotation file or an image/label folder of these
    dataloaders is missing."""
    for loader in loaders:
        dataset = (cfg.get(loader) or {}).get('dataset')
        for key, path in _dataset_files(dataset, f'{loader}.dataset'):
            if not osp.isfile(path):
                raise ConfigError(
                    f'annotation file {path!r} ({key}) not found: set data_root/ann_file '
                    f'(e.g. --cfg-options {key}.data_root=DIR/) to your copy of the '
                    f'dataset; the demo data is made by `python -m '
                    f'rexnet_mm.synthetic.shapes_coco --out data/shapes_coco_v3`')
        for key, kind, path in _dataset_folders(dataset, f'{loader}.dataset'):
            if not osp.isdir(path):
                raise ConfigError(
                    f'{kind} folder {path!r} ({key}) not found: set --cfg-options '
                    f'{key}.data_root=DIR/ to a folder holding {SEG_LAYOUTS[kind]}')
