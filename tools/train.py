#!/usr/bin/env python
"""Train a model from an mmdet, mmseg or mmpretrain config with rexnet_mm's backbones.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--auto-scale-lr] [--cfg-options KEY=VALUE ...]
                                 [--launcher {none,pytorch,slurm,mpi}]

The toolbox is the config's ``default_scope`` (mmdet, mmseg or mmpretrain); the
training loop is mmengine's ``Runner``. Flags follow mmdet's tools/train.py.
Before anything is built, every ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``
of the model is checked: a missing local file stops with one line that says how to
get it or how to train from scratch. Without a GPU, ``--launcher pytorch`` runs on
the CPU with the gloo backend (e.g. ``torchrun --nproc_per_node=2``).
"""
import argparse
import os
import os.path as osp
import sys
import warnings

# mmengine/mmcv import pkg_resources, which setuptools >= 67 flags on every run
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)
# OpenMP threads that spin while waiting make a CPU run 10-50x slower as soon as
# another process competes for the cores; sleeping waiters cost ~nothing when idle.
# Read when torch loads its OpenMP runtime, so set before torch is imported.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

TOOLBOXES = ('mmdet', 'mmseg', 'mmpretrain')
#: Where converted ImageNet weights come from (README section).
CHECKPOINT_HELP = 'README, "Checkpoints"'


def parse_with_common_args(parser, argv=None):
    """Add the arguments tools/train.py and tools/test.py share, parse ``argv`` and
    export the launcher's local rank as LOCAL_RANK (as mmdet's tools do)."""
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=_dict_action(), metavar='KEY=VALUE',
        help='override config entries, e.g. model.backbone.init_cfg=None '
             'train_cfg.max_epochs=12 (lists: key="[a,b]")')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def _dict_action():
    from mmengine.config import DictAction
    return DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a detector, segmentor or classifier (mmdet / mmseg / '
                    'mmpretrain config) with mmengine\'s Runner.')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size '
                             '(uses the config\'s auto_scale_lr.base_batch_size)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto', metavar='CKPT',
        help='resume from CKPT, or, without a value, from the latest checkpoint in '
             'the work dir')
    return parse_with_common_args(parser, argv)


# --------------------------------------------------------------------------
# helpers shared with tools/test.py
# --------------------------------------------------------------------------
def load_config(path, cfg_options=None, launcher='none', work_dir=None):
    """Read ``path``, apply ``--cfg-options``, set launcher and work_dir."""
    import rexnet_mm  # noqa: F401  registers our modules, applies rexnet_mm.fixes
    from mmengine.config import Config

    if not osp.isfile(path):
        raise SystemExit(f'error: config file {path!r} does not exist')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    toolbox_of(cfg, path)
    return cfg


def toolbox_of(cfg, path='config'):
    """The toolbox (mmdet / mmseg / mmpretrain) named by ``cfg.default_scope``."""
    scope = cfg.get('default_scope', None)
    if scope not in TOOLBOXES:
        raise SystemExit(
            f'error: {path} has default_scope={scope!r}; these tools serve configs of '
            f'{", ".join(TOOLBOXES)} (inherit one of their configs or set default_scope)')
    return scope


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
    return (f'error: pretrained weights for {parent} not found at {ckpt!r}: convert the '
            f'released ImageNet weights with `python tools/convert_checkpoint.py SRC {ckpt}` '
            f'({CHECKPOINT_HELP}), or train from scratch with '
            f'`--cfg-options {key}=None`')


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


def check_data(cfg, loaders):
    """Stop with one line if an annotation file of these dataloaders is missing."""
    for loader in loaders:
        for key, path in _dataset_files((cfg.get(loader) or {}).get('dataset'),
                                        f'{loader}.dataset'):
            if not osp.isfile(path):
                raise SystemExit(
                    f'error: annotation file {path!r} ({key}) not found: set data_root/'
                    f'ann_file (e.g. --cfg-options {key}.data_root=DIR/) to your copy of '
                    f'the dataset; the demo data is made by `python -m '
                    f'rexnet_mm.datasets.synthetic_coco --out data/shapes_coco`')


def _set_key(cfg, dotted, value):
    cfg.merge_from_dict({dotted: value})


def setup_cpu_distributed(cfg):
    """Let ``--launcher pytorch`` run without a GPU: gloo, and DDP without device_ids.

    mmengine 0.10.7 calls ``torch.cuda.set_device`` before initialising the process
    group and passes ``device_ids=[LOCAL_RANK]`` to DDP, both of which fail for CPU
    modules. We initialise the (gloo) group ourselves, so the Runner skips its own
    ``init_dist``, and wrap the model with a DDP that takes no device ids.
    """
    import torch
    import torch.distributed as dist

    if cfg.launcher == 'none' or torch.cuda.is_available():
        return False
    if cfg.launcher != 'pytorch':
        raise SystemExit(f'error: without a GPU only --launcher pytorch (torchrun) is '
                         f'supported, got {cfg.launcher!r}')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or {}
    if wrapper.get('type', 'MMDistributedDataParallel') == 'MMDistributedDataParallel':
        _register_cpu_ddp()
        cfg.model_wrapper_cfg = dict(wrapper, type='CPUDistributedDataParallel')
    return True


def _register_cpu_ddp():
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    if 'CPUDistributedDataParallel' in MODEL_WRAPPERS.module_dict:
        return

    class CPUDistributedDataParallel(MMDistributedDataParallel):
        """mmengine's DDP for CPU modules (no ``device_ids``)."""

        def __init__(self, module, device_ids=None, **kwargs):
            kwargs.setdefault('broadcast_buffers', False)
            super().__init__(module=module, **kwargs)

    MODEL_WRAPPERS.register_module(module=CPUDistributedDataParallel)


def build_runner(cfg):
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    from mmengine.visualization import Visualizer

    vis = cfg.get('visualizer')
    if isinstance(vis, dict) and Visualizer.check_instance_created(vis.get('name', '')):
        # main() called again in one process: a fresh visualizer, not the old run's
        vis['name'] = f"{vis['name']}_{len(Visualizer._instance_dict)}"

    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def set_default_dataloader_cfg(cfg, fields):
    """mmpretrain's tools pass these defaults; its configs rely on them."""
    import torch

    for field in fields:
        if cfg.get(field, None) is None:
            continue
        loader = cfg[field]
        loader.setdefault('collate_fn', dict(type='default_collate'))
        loader.setdefault('pin_memory', torch.cuda.is_available())


# --------------------------------------------------------------------------
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    toolbox = toolbox_of(cfg, args.config)

    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('error: --amp needs a CUDA GPU (mmengine\'s AmpOptimWrapper); '
                             'drop --amp to train in fp32 on the CPU')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.auto_scale_lr:
        scale = cfg.get('auto_scale_lr', None)
        if not scale or 'base_batch_size' not in scale:
            raise SystemExit(f'error: --auto-scale-lr needs auto_scale_lr=dict('
                             f'base_batch_size=N) in {args.config}')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'error: --resume checkpoint {args.resume!r} does not exist')
        cfg.resume, cfg.load_from = True, args.resume

    # Pre-flight: pretrained files named by init_cfg. Resuming/loading replaces
    # those weights anyway, so there a missing file only drops that init.
    restoring = cfg.get('load_from') or (
        cfg.get('resume') and osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')))
    for key, ckpt in missing_pretrained(cfg):
        if not restoring or '[' in key:
            raise SystemExit(missing_checkpoint_message(key, ckpt))
        print(f'note: {ckpt!r} ({key}) is missing; skipped because the weights are '
              f'restored from a checkpoint', file=sys.stderr)
        _set_key(cfg, key, None)

    check_data(cfg, ('train_dataloader', 'val_dataloader') if cfg.get('val_cfg')
               else ('train_dataloader',))
    if toolbox == 'mmpretrain':
        set_default_dataloader_cfg(cfg, ('train_dataloader', 'val_dataloader',
                                         'test_dataloader'))
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    main()
