#!/usr/bin/env python
"""Fine-tune an ImageNet checkpoint on a fine-grained dataset, then evaluate it.

    python tools/transfer.py DATASET --arch ARCH --checkpoint PATH --data-root DIR
                             [--work-dir DIR] [--epochs N] [--batch-size N] [--lr LR]
                             [--seed N] [--cfg-options KEY=VALUE ...]
    python tools/transfer.py DATASET --arch ARCH --scratch --data-root DIR ...
    python tools/transfer.py DATASET --arch ARCH --eval-only CKPT --data-root DIR

DATASET is one of cub, cars, aircraft, flowers, food, pets (the real releases, in
the folder layouts of mmpretrain's dataset classes, see README) or ``synthetic``
(the embedded set of ``python -m rexnet_mm.datasets.synthetic_finegrained``).
ARCH is rexnet_1.0, rexnet_1.5 or regnety_1.6gf. The recipe is the config
``configs/finegrained/<arch>_<dataset>.py``; the checkpoint may be in any layout the
rexnet_mm converters accept (authors', timm, pycls, mmdet, rexnet_mm). Its backbone
is loaded tensor for tensor; its ImageNet classifier is dropped and a new one for
the dataset's classes is initialised. Training and evaluation run in mmengine's
Runner; the final line prints the test top-1/top-5 from mmpretrain's Accuracy metric.
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO, 'configs', 'finegrained')
#: --arch -> (config prefix, checkpoint family)
ARCHS = {
    'rexnet_1.0': ('rexnet-1.0', 'rexnet'),
    'rexnet_1.5': ('rexnet-1.5', 'rexnet'),
    'regnety_1.6gf': ('regnety-1.6gf', 'regnet'),
}
#: DATASET -> config suffix
DATASET_CONFIGS = {'cub': 'cub', 'cars': 'cars', 'aircraft': 'aircraft',
                   'flowers': 'flowers', 'food': 'food', 'pets': 'pets',
                   'synthetic': 'synthetic-birds'}
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _train_tools():
    """tools/train.py (shared config and runner helpers), imported when first needed;
    tools/ is on sys.path whenever a tool runs as a script."""
    import train
    return train


def normalise_arch(arch):
    key = arch.lower().replace('-', '_')
    if key not in ARCHS:
        raise SystemExit(f'error: unknown --arch {arch!r}; choose one of {", ".join(ARCHS)}')
    return key


def config_path(dataset, arch):
    prefix, _ = ARCHS[normalise_arch(arch)]
    return osp.join(CONFIG_DIR, f'{prefix}_{DATASET_CONFIGS[dataset]}.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Fine-tune an ImageNet checkpoint on a fine-grained dataset and '
                    'report test top-1/top-5.')
    parser.add_argument('dataset', choices=list(DATASET_CONFIGS))
    parser.add_argument('--arch', default='rexnet_1.0',
                        help=f'one of {", ".join(ARCHS)} (default rexnet_1.0)')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--checkpoint', help='ImageNet checkpoint (any supported layout)')
    source.add_argument('--scratch', action='store_true',
                        help='random initialisation instead of a checkpoint (baseline)')
    source.add_argument('--eval-only', metavar='CKPT',
                        help='only evaluate a checkpoint written by a previous run')
    parser.add_argument('--data-root', required=True, help='dataset folder')
    parser.add_argument('--work-dir', help='default: work_dirs/transfer/<arch>_<dataset>')
    parser.add_argument('--epochs', type=int, help='override the recipe\'s epochs '
                        '(warm-up and cosine decay are rescaled)')
    parser.add_argument('--batch-size', type=int, help='per-process batch size')
    parser.add_argument('--lr', type=float, help='backbone learning rate '
                        '(the classifier uses 10x)')
    parser.add_argument('--num-workers', type=int, help='data loader workers')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                        action=_train_tools()._dict_action(),
                        help='further config overrides (mmengine syntax)')
    return parser.parse_args(argv)


# --------------------------------------------------------------------------
# config surgery
# --------------------------------------------------------------------------
def set_epochs(cfg, epochs):
    """Change the schedule length: warm-up rescaled (kept shorter than the run),
    the decay stretched from the end of the warm-up to the last epoch."""
    if epochs < 1:
        raise SystemExit(f'error: --epochs must be >= 1, got {epochs}')
    old = cfg.train_cfg.max_epochs
    scheds = [dict(s) for s in cfg.param_scheduler]
    warm = [s for s in scheds if s['type'] == 'LinearLR']
    decay = [s for s in scheds if s['type'] != 'LinearLR']
    if len(warm) > 1 or len(decay) != 1:
        raise SystemExit('error: --epochs expects a schedule of an optional LinearLR '
                         'warm-up and one decay scheduler; edit the config instead')
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
    from rexnet_mm.datasets.synthetic_finegrained import read_cub_classes
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
    num_classes = cfg.model.head.num_classes
    if num_classes < 5:  # top-5 needs at least 5 classes
        for name in ('val_evaluator', 'test_evaluator'):
            cfg[name].topk = (1, )
        cfg.model.head.topk = (1, )


def check_checkpoint(path, family, backbone_cfg=None):
    """Fail early, in one line, unless ``path`` holds weights for the backbone.

    With ``backbone_cfg`` the backbone is built and loaded once, so that a file of
    another width or variant is reported before any data is read.
    """
    from rexnet_mm.converters import (CheckpointError, convert_state_dict,
                                      load_backbone_weights, read_state_dict)
    try:
        _, fmt = convert_state_dict(read_state_dict(path), family)
        if backbone_cfg is not None:
            from mmpretrain.registry import MODELS
            backbone_cfg = dict(backbone_cfg, init_cfg=None)
            load_backbone_weights(MODELS.build(backbone_cfg), path, family)
    except (FileNotFoundError, CheckpointError) as exc:
        raise SystemExit(f'error: {exc} (tools/transfer.py: choose the --arch of '
                         f'the checkpoint)' if 'does not fit' in str(exc)
                         else f'error: {exc}')
    return fmt


def build_config(args):
    """The mmengine Config of one transfer run (no side effects on disk)."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from rexnet_mm.datasets.finegrained import DatasetLayoutError, check_layout

    arch = normalise_arch(args.arch)
    try:
        check_layout(args.dataset, args.data_root)
    except DatasetLayoutError as exc:
        raise SystemExit(f'error: {exc}')
    tools = _train_tools()
    work_dir = args.work_dir or osp.join(
        'work_dirs', 'transfer', f'{ARCHS[arch][0]}_{args.dataset}')
    cfg = tools.load_config(config_path(args.dataset, arch), None, 'none', work_dir)
    set_data(cfg, args.dataset, args.data_root, args.batch_size, args.num_workers)
    if args.epochs is not None:
        set_epochs(cfg, args.epochs)
    if args.lr is not None:
        cfg.optim_wrapper.optimizer.lr = args.lr
    cfg.randomness = dict(seed=args.seed, deterministic=False)

    family = ARCHS[arch][1]
    if args.eval_only:
        if not osp.isfile(args.eval_only):
            raise SystemExit(f'error: --eval-only checkpoint {args.eval_only!r} does not exist')
        cfg.model.backbone.init_cfg = None
        cfg.load_from = args.eval_only
    elif args.scratch:
        cfg.model.backbone.init_cfg = None  # the backbone's own random init
    else:
        check_checkpoint(args.checkpoint, family, cfg.model.backbone)
        cfg.model.backbone.init_cfg = dict(type='Pretrained',
                                           checkpoint=osp.abspath(args.checkpoint))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    tools.set_default_dataloader_cfg(cfg, _LOADERS)
    return cfg


def run(args):
    """Train (unless --eval-only) and test; returns the result dict."""
    cfg = build_config(args)
    family = ARCHS[normalise_arch(args.arch)][1]
    fmt = check_checkpoint(args.checkpoint, family) if args.checkpoint else None
    runner = _train_tools().build_runner(cfg)
    if not args.eval_only:
        runner.train()
    metrics = runner.test()
    top1 = float(metrics.get('accuracy/top1', float('nan')))
    top5 = float(metrics.get('accuracy/top5', float('nan')))
    result = dict(dataset=args.dataset, arch=normalise_arch(args.arch),
                  init='eval-only' if args.eval_only else
                  ('scratch' if args.scratch else 'checkpoint'),
                  checkpoint=args.checkpoint or args.eval_only,
                  checkpoint_format=fmt,
                  epochs=cfg.train_cfg.max_epochs, top1=top1, top5=top5,
                  work_dir=cfg.work_dir)
    os.makedirs(cfg.work_dir, exist_ok=True)
    with open(osp.join(cfg.work_dir, 'transfer_result.json'), 'w') as f:
        json.dump(result, f, indent=1)
    print(f'transfer {args.dataset} {result["arch"]} ({result["init"]}): '
          f'test top-1 {top1:.2f}  top-5 {top5:.2f}')
    return result


def main(argv=None):
    return run(parse_args(argv))


if __name__ == '__main__':
    main()
