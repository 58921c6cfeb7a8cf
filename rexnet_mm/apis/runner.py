"""Training and testing with mmengine's Runner, for mmdet, mmseg and mmpretrain configs.

The command lines (``tools/train.py``, ``tools/test.py``) parse their flags and call
:func:`train` / :func:`test`; everything here works on an mmengine ``Config``.
"""
import functools
import os
import os.path as osp
import sys

from ..fixes import default_scope
from ..fixes.upstream import instance_count
from .checks import (check_channels, check_coco, check_data, check_pretrained,
                     check_seg_labels)
from .config import ConfigError, set_default_dataloader_cfg, toolbox_of
from .dist import setup_cpu_distributed


def build_runner(cfg):
    """mmengine's Runner (or the config's ``runner_type``) of ``cfg``."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    from mmengine.visualization import Visualizer

    vis = cfg.get('visualizer')
    if isinstance(vis, dict) and Visualizer.check_instance_created(vis.get('name', '')):
        # a second run in one process: a fresh visualizer, not the old run's
        vis['name'] = f"{vis['name']}_{instance_count(Visualizer)}"
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def in_config_scope(function):
    """Run ``function(cfg, ...)`` in the config's default scope and give the caller's
    back afterwards: the Runner sets its toolbox's scope process-wide, which would
    decide how the next toolbox's inferencer or config in this process resolves types."""
    @functools.wraps(function)
    def wrapper(cfg, *args, **kwargs):
        with default_scope(cfg.get('default_scope')):
            return function(cfg, *args, **kwargs)
    return wrapper


def _loads(path):
    """None if ``path`` is a checkpoint torch can read, else why not (one line)."""
    import torch
    try:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # truncated: RuntimeError/EOFError/UnpicklingError, ...
        return f'{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ""}'[:160]
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        return 'not a training checkpoint (no state_dict)'
    return None


def find_resumable(work_dir):
    """``(path, skipped)``: the newest checkpoint of ``work_dir`` that loads, trying the
    one ``last_checkpoint`` names first, then every ``*.pth`` there, newest first;
    ``skipped``: one line per checkpoint passed over and why."""
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named:
            candidates.append(named)
    found = [osp.join(work_dir, f) for f in os.listdir(work_dir)
             if f.endswith('.pth')] if osp.isdir(work_dir) else []
    candidates += sorted(found, key=osp.getmtime, reverse=True)
    skipped, seen = [], set()
    for path in candidates:
        if osp.abspath(path) in seen:
            continue
        seen.add(osp.abspath(path))
        why = 'named by last_checkpoint but missing' if not osp.isfile(path) else _loads(path)
        if why is None:
            return path, skipped
        skipped.append(f'note: --resume skipped {path} ({why})')
    return None, skipped


def check_work_dir(cfg):
    """Refuse a work dir holding another config's checkpoints: a new run would overwrite
    its ``epoch_N.pth`` / ``iter_N.pth``. (The Runner saves a copy of its config there.)"""
    work_dir, name = cfg.work_dir, osp.basename(cfg.filename or '')
    if not name or not osp.isdir(work_dir):
        return
    files = os.listdir(work_dir)
    others = [f for f in files if f.endswith('.py') and f != name]
    if others and any(f.endswith('.pth') for f in files) and name not in files:
        raise ConfigError(
            f'work dir {work_dir!r} holds checkpoints of another config ({others[0]}); '
            f'choose another --work-dir (nothing there was touched)')


def _prepare(cfg, loaders):
    check_data(cfg, loaders)
    check_coco(cfg, loaders)
    check_seg_labels(cfg, loaders)
    check_channels(cfg)
    if toolbox_of(cfg) == 'mmpretrain':
        set_default_dataloader_cfg(cfg)
    setup_cpu_distributed(cfg)


@in_config_scope
def train(cfg, amp=False, auto_scale_lr=False, resume=None):
    """Train ``cfg`` (read by :func:`~rexnet_mm.apis.config.load_config`); returns the
    Runner. ``resume``: None, ``'auto'`` (latest checkpoint of the work dir) or a path.
    Pre-flight checks run first: missing ImageNet weights or annotation files stop the
    run in one line before anything is built."""
    if amp:
        import torch
        if not torch.cuda.is_available():
            raise ConfigError("--amp needs a CUDA GPU (mmengine's AmpOptimWrapper); drop "
                              "--amp to train in fp32 on the CPU")
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        scale = cfg.get('auto_scale_lr', None)
        if not scale or 'base_batch_size' not in scale:
            raise ConfigError('--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=N) '
                              'in the config')
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        path, skipped = find_resumable(cfg.work_dir)
        for line in skipped:
            print(line, file=sys.stderr)
        if path is None:
            raise ConfigError(
                f'--resume: no checkpoint that loads in {cfg.work_dir!r}'
                f'{" (" + str(len(skipped)) + " skipped, see above)" if skipped else ""}; '
                f'drop --resume to start from scratch, or pass --resume PATH')
        cfg.resume, cfg.load_from = True, path
    elif resume is not None:
        if not osp.isfile(resume):
            raise ConfigError(f'--resume checkpoint {resume!r} does not exist')
        why = _loads(resume)
        if why is not None:
            raise ConfigError(f'--resume checkpoint {resume!r} cannot be loaded ({why}); '
                              f'pass another checkpoint, or --resume alone for the newest '
                              f'one that loads')
        cfg.resume, cfg.load_from = True, resume
    else:
        check_work_dir(cfg)
    # Resuming/loading replaces the ImageNet weights anyway: a missing file only drops
    # that init there.
    for note in check_pretrained(cfg, restoring=bool(cfg.get('load_from'))):
        print(note, file=sys.stderr)
    _prepare(cfg, ('train_dataloader', 'val_dataloader') if cfg.get('val_cfg')
             else ('train_dataloader',))
    runner = build_runner(cfg)
    runner.train()
    return runner


def _coco_metrics(evaluator_cfg):
    metrics = evaluator_cfg if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]
    return [m for m in metrics if isinstance(m, dict) and m.get('type') in
            ('CocoMetric', 'mmdet.CocoMetric')]


def _visualize(cfg, toolbox, show, show_dir, wait_time):
    hooks = cfg.get('default_hooks', {})
    if 'visualization' not in hooks:
        raise ConfigError('--show/--show-dir need default_hooks.visualization in the config')
    hook = hooks['visualization']
    show_dir = osp.abspath(show_dir) if show_dir else None
    if toolbox == 'mmpretrain':
        hook.update(enable=True, show=show, wait_time=wait_time, out_dir=show_dir)
        return
    hook.update(draw=True)
    if show:
        hook.update(show=True, wait_time=wait_time)
    if show_dir and toolbox == 'mmdet':
        # DetVisualizationHook joins it to work_dir/timestamp; absolute stays as is
        hook['test_out_dir'] = show_dir
    elif show_dir:
        cfg.visualizer['save_dir'] = show_dir
        hook['interval'] = 1  # mmseg's hook draws every 50th batch by default


@in_config_scope
def test(cfg, checkpoint, out=None, json_prefix=None, show=False, show_dir=None,
         wait_time=2, tta=False, fuse_bn=False):
    """Test ``checkpoint`` with ``cfg``; returns the metrics.

    ``fuse_bn``: fold every BN into the conv before it once the checkpoint is loaded
    (:class:`~rexnet_mm.apis.hooks.FuseBNHook`): the same predictions, faster.
    ``out``: a ``.pkl`` file for the raw predictions (any toolbox) or, for mmseg, a
    folder for the predicted masks; ``json_prefix`` (mmdet): COCO results files
    ``PREFIX.bbox.json`` (and ``.segm.json``); ``show_dir``: images with predictions.
    """
    toolbox = toolbox_of(cfg)
    if not osp.isfile(checkpoint):
        raise ConfigError(f'checkpoint {checkpoint!r} does not exist')
    cfg.load_from = checkpoint
    if show or show_dir:
        _visualize(cfg, toolbox, show, show_dir, wait_time)
    if json_prefix:
        if toolbox != 'mmdet':
            raise ConfigError('--json-prefix writes COCO results; it needs an mmdet config')
        metrics = _coco_metrics(cfg.test_evaluator)
        if not metrics:
            raise ConfigError('--json-prefix needs a CocoMetric in test_evaluator')
        prefix = osp.abspath(json_prefix)
        os.makedirs(osp.dirname(prefix), exist_ok=True)
        for metric in metrics:
            metric['outfile_prefix'] = prefix
    dump_pkl = bool(out) and out.endswith(('.pkl', '.pickle'))
    if out and not dump_pkl:
        if toolbox != 'mmseg':
            raise ConfigError(f'--out must end with .pkl, got {out!r}')
        cfg.test_evaluator['output_dir'] = out
        cfg.test_evaluator['keep_results'] = True
    if tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ConfigError('--tta needs tta_model and tta_pipeline in the config')
        from mmengine.config import ConfigDict
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    if fuse_bn:
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(type='FuseBNHook')]
    _prepare(cfg, ('test_dataloader',))
    runner = build_runner(cfg)
    if dump_pkl:
        if toolbox == 'mmdet':
            from mmdet.evaluation import DumpDetResults as Dump
        else:
            from mmengine.evaluator import DumpResults as Dump
        runner.test_evaluator.metrics.append(Dump(out_file_path=out))
    return runner.test()
