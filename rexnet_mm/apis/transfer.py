"""Fine-tuning an ImageNet checkpoint on a fine-grained dataset (``tools/transfer.py``).

The recipe of ``(dataset, model)`` is the config ``configs/finegrained/<model>_<dataset>.py``;
the checkpoint may be in any layout :mod:`rexnet_mm.weights` reads. Its backbone is loaded
tensor for tensor, its ImageNet classifier dropped and a new one initialised; training
and the final test run in mmengine's Runner with mmpretrain's ``Accuracy``.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional

from ..fixes import default_scope
from ..weights import (CheckpointError, convert_state_dict, is_remote, load_backbone_weights,
                       read_state_dict)
from .config import ConfigError, config_dir, load_config, set_default_dataloader_cfg
from .finegrained_layouts import check_layout
from .runner import build_runner

#: --model (the model names of docs/development.md, "Names", also the recipes' config
#: prefixes) -> checkpoint family
MODELS = {'rexnet-1.0': 'rexnet', 'rexnet-1.5': 'rexnet', 'regnety-1.6gf': 'regnet'}
#: DATASET -> config suffix
DATASET_CONFIGS = {'cub': 'cub', 'cars': 'cars', 'aircraft': 'aircraft',
                   'flowers': 'flowers', 'food': 'food', 'pets': 'pets',
                   'synthetic': 'synthetic-birds'}
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@dataclass
class TransferOptions:
    """One transfer run; ``checkpoint``, ``scratch`` and ``eval_only`` exclude each other."""
    dataset: str
    data_root: str
    model: str = 'rexnet-1.0'
    checkpoint: Optional[str] = None
    scratch: bool = False
    eval_only: Optional[str] = None
    work_dir: Optional[str] = None
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    lr: Optional[float] = None
    num_workers: Optional[int] = None
    seed: int = 0
    cfg_options: Optional[dict] = None


def check_model(model):
    if model not in MODELS:
        raise ConfigError(f'unknown --model {model!r}; choose one of {", ".join(MODELS)}')
    return model


def config_path(dataset, model):
    return osp.join(config_dir(), 'finegrained',
                    f'{check_model(model)}_{DATASET_CONFIGS[dataset]}.py')


def set_epochs(cfg, epochs):
    """Change the schedule length: warm-up rescaled (kept shorter than the run),
    the decay stretched from the end of the warm-up to the last epoch."""
    if epochs < 1:
        raise ConfigError(f'--epochs must be >= 1, got {epochs}')
    old = cfg.train_cfg.max_epochs
    scheds = [dict(s) for s in cfg.param_scheduler]
    warm = [s for s in scheds if s['type'] == 'LinearLR']
    decay = [s for s in scheds if s['type'] != 'LinearLR']
    if len(warm) > 1 or len(decay) != 1:
        raise ConfigError('--epochs expects a schedule of an optional LinearLR warm-up and '
                          'one decay scheduler; edit the config instead')
    warm_end = 0
    if warm:
        warm_end = min(max(round(warm[0].get('end', 0) * epochs / old), 1), epochs - 1)
    cfg.param_scheduler = (
        [dict(warm[0], begin=0, end=warm_end)] if warm_end > 0 else []) + [
        dict(decay[0], begin=warm_end, end=epochs)]
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = min(cfg.train_cfg.get('val_interval', 1), epochs)
    hook = cfg.default_hooks.get('checkpoint')
    if hook is not None:
        hook.interval = min(hook.get('interval', 1), epochs)


def set_data(cfg, dataset, data_root, batch_size=None, num_workers=None):
    from ..synthetic.finegrained import read_cub_classes
    classes = read_cub_classes(data_root) if dataset == 'synthetic' else None
    for name in _LOADERS:
        loader = cfg.get(name)
        if loader is None:
            continue
        loader.dataset.data_root = data_root
        if classes is not None:
            loader.dataset.classes = classes
        if batch_size is not None and name == 'train_dataloader':
            loader.batch_size = batch_size
        if num_workers is not None:
            loader.num_workers = num_workers
            loader.persistent_workers = num_workers > 0
    if classes is not None:
        cfg.model.head.num_classes = len(classes)
        cfg.data_preprocessor.num_classes = len(classes)
    if cfg.model.head.num_classes < 5:  # top-5 needs at least 5 classes
        for name in ('val_evaluator', 'test_evaluator'):
            cfg[name].topk = (1, )
        cfg.model.head.topk = (1, )


def check_checkpoint(path, family, backbone_cfg=None):
    """Fail early, in one line, unless ``path`` holds weights for the backbone; returns
    the checkpoint's format. With ``backbone_cfg`` the backbone is built and loaded
    once, so that a file of another width or variant is reported before any data is
    read."""
    _, fmt = convert_state_dict(read_state_dict(path), family)
    if backbone_cfg is not None:
        from mmpretrain.registry import MODELS
        try:
            load_backbone_weights(MODELS.build(dict(backbone_cfg, init_cfg=None)), path)
        except CheckpointError as exc:
            raise CheckpointError(f'{exc} (tools/transfer.py: choose the --model of the '
                                  f'checkpoint)') from None
    return fmt


def build_config(opts):
    """The mmengine Config of one transfer run (no side effects on disk)."""
    model = check_model(opts.model)
    check_layout(opts.dataset, opts.data_root)
    work_dir = opts.work_dir or osp.join('work_dirs', 'transfer',
                                         f'{model}_{opts.dataset}')
    cfg = load_config(config_path(opts.dataset, model), None, 'none', work_dir)
    set_data(cfg, opts.dataset, opts.data_root, opts.batch_size, opts.num_workers)
    if opts.epochs is not None:
        set_epochs(cfg, opts.epochs)
    if opts.lr is not None:
        cfg.optim_wrapper.optimizer.lr = opts.lr
    cfg.randomness = dict(seed=opts.seed, deterministic=False)
    if opts.eval_only:
        if not osp.isfile(opts.eval_only):
            raise ConfigError(f'--eval-only checkpoint {opts.eval_only!r} does not exist')
        cfg.model.backbone.init_cfg = None
        cfg.load_from = opts.eval_only
    elif opts.scratch:
        cfg.model.backbone.init_cfg = None  # the backbone's own random init
    else:  # --checkpoint, or the ImageNet weights the recipe names (fetched by name)
        ckpt = opts.checkpoint or cfg.model.backbone.init_cfg['checkpoint']
        ckpt = ckpt if is_remote(ckpt) else osp.abspath(ckpt)
        check_checkpoint(ckpt, MODELS[model], cfg.model.backbone)
        cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=ckpt)
    if opts.cfg_options:
        cfg.merge_from_dict(opts.cfg_options)
    set_default_dataloader_cfg(cfg, _LOADERS)
    return cfg


def run(opts):
    """Train (unless ``eval_only``) and test; returns the result dict, also written to
    ``<work_dir>/transfer_result.json``."""
    cfg = build_config(opts)
    model = check_model(opts.model)
    init = cfg.model.backbone.init_cfg
    ckpt = init['checkpoint'] if isinstance(init, dict) and 'checkpoint' in init else None
    fmt = check_checkpoint(ckpt, MODELS[model]) if ckpt else None
    with default_scope(cfg.default_scope):
        runner = build_runner(cfg)
        if not opts.eval_only:
            runner.train()
        metrics = runner.test()
    top1 = float(metrics.get('accuracy/top1', float('nan')))
    top5 = float(metrics.get('accuracy/top5', float('nan')))
    result = dict(dataset=opts.dataset, model=model,
                  init='eval-only' if opts.eval_only else
                  ('scratch' if opts.scratch else 'checkpoint'),
                  checkpoint=ckpt or opts.eval_only, checkpoint_format=fmt,
                  epochs=cfg.train_cfg.max_epochs, top1=top1, top5=top5,
                  work_dir=cfg.work_dir)
    os.makedirs(cfg.work_dir, exist_ok=True)
    with open(osp.join(cfg.work_dir, 'transfer_result.json'), 'w') as f:
        json.dump(result, f, indent=1)
    return result
