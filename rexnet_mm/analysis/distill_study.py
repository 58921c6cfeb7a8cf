"""Distillation study (``tools/analysis/distill_study.py``): a small student trained
alone and trained against a larger trained teacher, same data, schedule and seeds.

Two settings, each on the embedded generated data:

* ``cls``: fine-grained stand-in. Teacher: RegNetY-400MF (configs/finegrained/
  regnety-1.6gf_synthetic-birds.py at ``arch='regnety_400mf'``, ``teacher_arch``) from
  scratch on the synthetic birds, 40 images per class, 30 epochs; student: ReXNet-0.5
  (cross-family) from scratch with 3 images per class for 200 epochs (600 iterations, the
  few-labelled-images regime of fine-grained sets) at SGD lr 0.05 for every layer
  (``student_lr``, ``student_head_lr_mult``; the config's fine-tuning lr 0.01 with a 10x
  head under-trains a student from scratch), alone (configs/finegrained/
  rexnet-1.0_synthetic-birds.py at width 0.5) and with logits KD
  (configs/distill/kd_regnety-1.6gf_to_rexnet-1.0_synthetic-birds.py, same student).
  Metric: top-1 on the 320 test images.
* ``det``: the SSDLite demo. Teacher: the demo detector (configs/detection/demo/
  ssdlite_rexnet_shapes.py, its own 4-epoch schedule); student: SSDLite + ReXNet-0.5
  (configs/distill/ssdlite_rexnet-0.5_shapes.py) on a shorter schedule, alone and with
  CWD on the neck outputs + logits KD on the SSD scores (configs/distill/
  cwd_ssdlite_rexnet-1.0_to_rexnet-0.5_shapes.py). Metric: COCO bbox AP@0.5 on the
  200 validation images.

Every finished run is written to ``<work-dir>/<setting>/results.json`` with the options
it ran with; a later call skips runs already there with the same options, so the study
runs in pieces (``--runs teacher``, then ``--runs alone distilled --seeds 0`` ...);
pieces may run side by side (e.g. one process per seed with ``--threads 1``): each adds
its runs to the file under a lock.
"""
import json
import os
import os.path as osp
import statistics
import time

from ..errors import InvalidValueError
from ..fixes import atomic_write, default_scope

SETTINGS = {
    'cls': dict(
        teacher='configs/finegrained/regnety-1.6gf_synthetic-birds.py',
        student='configs/finegrained/rexnet-1.0_synthetic-birds.py',
        distill='configs/distill/kd_regnety-1.6gf_to_rexnet-1.0_synthetic-birds.py',
        metric='accuracy/top1', metric_name='top-1 (%)'),
    'det': dict(
        teacher='configs/detection/demo/ssdlite_rexnet_shapes.py',
        student='configs/distill/ssdlite_rexnet-0.5_shapes.py',
        distill='configs/distill/cwd_ssdlite_rexnet-1.0_to_rexnet-0.5_shapes.py',
        metric='coco/bbox_mAP_50', metric_name='AP@0.5'),
}

#: the study's defaults per setting (``--set KEY=VALUE`` changes one)
DEFAULTS = {
    'cls': dict(teacher_arch='regnety_400mf', teacher_epochs=30, teacher_per_class=40,
                student_epochs=200,
                student_per_class=3, student_width=0.5, student_lr=0.05,
                student_head_lr_mult=1.0, kd_weight=1.0, temperature=4.0,
                num_workers=1),
    'det': dict(teacher_epochs=4, teacher_train=2000, student_epochs=1, student_train=2000,
                cwd_weight=10.0,
                tau=1.0, logits_weight=1.0, temperature=1.0, num_workers=1),
}


def _load(path, work_dir):
    from ..apis.config import load_config
    return load_config(path, None, 'none', work_dir)


def _det_schedule(cfg, epochs):
    """The demo's schedule at ``epochs``: its 60-iteration warm-up, cosine to the end."""
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs  # the last epoch's validation is the result
    for sched in cfg.param_scheduler:
        if sched['type'] == 'CosineAnnealingLR':
            sched.update(T_max=epochs, end=epochs)
    cfg.default_hooks.checkpoint.interval = epochs


def _cls_data(cfg, root, num_workers):
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = root
        cfg[name].num_workers = num_workers
        cfg[name].persistent_workers = num_workers > 0


def _det_data(cfg, info, num_workers):
    root = info['root'].rstrip('/') + '/'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = root
        cfg[name].num_workers = num_workers
        cfg[name].persistent_workers = num_workers > 0
    for name in ('val_evaluator', 'test_evaluator'):
        cfg[name].ann_file = info['val_ann']


def prepare_data(setting, data_dir, opts):
    """Generate (or reuse) the setting's data; returns what the configs need."""
    if setting == 'cls':
        from ..synthetic.finegrained import write_finegrained
        roots = {}
        sizes = dict(teacher=opts['teacher_per_class'], student=opts['student_per_class'])
        for who, n in sizes.items():
            root = osp.join(data_dir, f'birds_{n}pc')
            if not osp.isfile(osp.join(root, 'classes.txt')):
                write_finegrained(root, train_per_class=n)
            roots[who] = root
        return roots
    from ..synthetic.shapes_coco import generate
    sizes = dict(teacher=opts['teacher_train'], student=opts['student_train'])
    return {who: generate(osp.join(data_dir, f'shapes_coco_{n}'), num_train=n)
            for who, n in sizes.items()}


def run_config(setting, kind, seed, opts, data, work_dir, teacher=None):
    """Train one run (``kind``: teacher, alone, distilled); returns its result dict."""
    from ..apis.config import set_default_dataloader_cfg
    from ..apis.runner import build_runner
    spec = SETTINGS[setting]
    cfg = _load(spec['teacher' if kind == 'teacher' else
                     'student' if kind == 'alone' else 'distill'], work_dir)
    model = cfg.model.student if kind == 'distilled' else cfg.model
    if setting == 'cls':
        from ..apis.transfer import set_epochs
        _cls_data(cfg, data['teacher' if kind == 'teacher' else 'student'],
                  opts['num_workers'])
        set_epochs(cfg, opts['teacher_epochs' if kind == 'teacher' else 'student_epochs'])
        cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs
        model.backbone.init_cfg = None  # from scratch: no ImageNet weights here
        if kind == 'teacher':
            from ..models.backbones.regnet import arch_stages
            model.backbone.arch = opts['teacher_arch']
            model.head.in_channels = arch_stages(opts['teacher_arch'])['widths'][-1]
        if kind != 'teacher':
            width = opts['student_width']
            model.backbone.widen_factor = width
            model.head.in_channels = round(1280 * width)
            # from scratch, the fine-tuning recipe's low backbone lr and 10x head lr
            # (for pre-trained backbones) leave the student under-trained: one lr for
            # all, the same for both arms
            cfg.optim_wrapper.optimizer.lr = opts['student_lr']
            cfg.optim_wrapper.paramwise_cfg.custom_keys = {
                'head': dict(lr_mult=opts['student_head_lr_mult'])}
        set_default_dataloader_cfg(cfg)
    else:
        _det_data(cfg, data['teacher' if kind == 'teacher' else 'student'],
                  opts['num_workers'])
        _det_schedule(cfg, opts['teacher_epochs' if kind == 'teacher' else 'student_epochs'])
    if kind == 'distilled':
        cfg.model.teacher_config = teacher['config']
        cfg.model.teacher_checkpoint = teacher['checkpoint']
        keys = ('kd_weight', 'temperature') if setting == 'cls' else (
            'cwd_weight', 'tau', 'logits_weight', 'temperature')
        for key in keys:
            cfg.model[key] = opts[key]
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.default_hooks.logger.interval = 50
    start = time.perf_counter()
    with default_scope(cfg.default_scope):
        runner = build_runner(cfg)
        runner.train()
        # the train loop validates after the last epoch (mmengine always does); its
        # metrics are the test split's here (test_dataloader = val_dataloader)
        key = f'val/{spec["metric"]}'
        hub = runner.message_hub
        metrics = ({spec['metric']: hub.get_scalar(key).current()}
                   if key in hub.log_scalars else runner.test())
    checkpoint = osp.join(work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    result = dict(metric=round(float(metrics[spec['metric']]), 4),
                  seconds=round(time.perf_counter() - start, 1), checkpoint=checkpoint,
                  config=osp.join(work_dir, osp.basename(cfg.filename)))
    if kind == 'distilled':
        result['plain_student_loads'] = load_as_plain_student(checkpoint)
    if kind == 'teacher':
        # the config the teacher was trained with (data roots, schedule), for the
        # distilled runs' teacher_config
        result['config'] = osp.join(work_dir, 'teacher_config.py')
        cfg.dump(result['config'])
    return result


def load_as_plain_student(checkpoint):
    """Build the model of the config in the checkpoint's ``meta['cfg']`` (the plain
    student's, written by ``StudentConfigHook``) and load the weights with
    ``strict=True``; returns True or raises."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import MODELS
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=False)
    cfg = Config.fromstring(ckpt['meta']['cfg'], '.py')
    if 'Distiller' in cfg.model.type:
        raise InvalidValueError(f'{checkpoint}: meta cfg is not the plain student')
    model_cfg = dict(cfg.model)
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in model_cfg:
        model_cfg['data_preprocessor'] = cfg.data_preprocessor
    with default_scope(cfg.get('default_scope')):
        model = MODELS.build(model_cfg)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    return True


def _signature(setting, kind, opts):
    keys = [k for k in opts if k != 'num_workers']
    if kind == 'teacher':
        keys = [k for k in keys if k.startswith('teacher')]
    elif kind == 'alone':
        keys = [k for k in keys if k.startswith('student')]
    return {k: opts[k] for k in sorted(keys)}


def summary(results, metric_name):
    """Rows of the table: per seed, then mean, spread (max - min), the gain."""
    alone, dist = results.get('alone', {}), results.get('distilled', {})
    seeds = sorted(set(alone) | set(dist), key=int)
    lines = [f'| seed | student alone {metric_name} | student distilled {metric_name} |',
             '|---|---|---|']
    for s in seeds:
        a, d = alone.get(s, {}).get('metric'), dist.get(s, {}).get('metric')
        lines.append(f'| {s} | {"-" if a is None else a} | {"-" if d is None else d} |')
    va = [alone[s]['metric'] for s in seeds if s in alone]
    vd = [dist[s]['metric'] for s in seeds if s in dist]
    if va and vd:
        ma, md = statistics.mean(va), statistics.mean(vd)
        sa, sd = max(va) - min(va), max(vd) - min(vd)
        lines.append(f'| mean | {ma:.4g} | {md:.4g} |')
        lines.append(f'| spread (max - min) | {sa:.4g} | {sd:.4g} |')
        worst_gain = min(vd) - max(va)
        lines.append(f'\ngain of the means {md - ma:+.4g}; the worst distilled seed minus '
                     f'the best seed alone {worst_gain:+.4g} '
                     f'({"beyond" if md - ma > max(sa, sd) else "NOT beyond"} the seed '
                     f'spread {max(sa, sd):.4g})')
    t = results.get('teacher')
    if t:
        lines.insert(0, f'teacher {metric_name}: {t["metric"]} ({t["seconds"]} s)\n')
    return '\n'.join(lines)


def study_options(setting, overrides=None):
    """The setting's defaults with ``--set`` overrides (converted to the default's type)."""
    opts = dict(DEFAULTS[setting])
    for key, value in (overrides or {}).items():
        if key not in opts:
            raise InvalidValueError(f'--set {key}: not an option of the {setting} setting '
                                    f'(one of {", ".join(sorted(opts))})')
        opts[key] = type(opts[key])(value)
    return opts


def current(results, setting, opts):
    """Only the runs of ``results`` made with ``opts`` (a table never mixes runs of
    different options, e.g. seeds left from an earlier learning rate)."""
    out = {}
    for kind in ('teacher', 'alone', 'distilled'):
        sig = _signature(setting, kind, opts)
        if kind == 'teacher':
            if results.get('teacher', {}).get('options') == sig:
                out['teacher'] = results['teacher']
            continue
        runs = {s: r for s, r in results.get(kind, {}).items() if r.get('options') == sig}
        if runs:
            out[kind] = runs
    return out


def run_study(setting, work_dir, seeds=(0, 1, 2), runs=('teacher', 'alone', 'distilled'),
              overrides=None, threads=2):
    import torch
    from filelock import FileLock
    torch.set_num_threads(threads)
    opts = study_options(setting, overrides)
    root = osp.join(work_dir, setting)
    os.makedirs(root, exist_ok=True)
    path = osp.join(root, 'results.json')
    lock = FileLock(path + '.lock')
    with lock:  # a piece started beside this one waits for the data
        results = json.load(open(path)) if osp.isfile(path) else {}
        data = prepare_data(setting, osp.join(work_dir, 'data'), opts)

    def save(kind, seed=None, result=None):
        # read-merge-write under a lock: pieces may run side by side (one process per
        # seed), each adding its own runs to the same file
        nonlocal results
        with lock:
            results = json.load(open(path)) if osp.isfile(path) else {}
            if kind == 'teacher':
                # a new teacher: the distilled runs are stale, the students alone are not
                results = dict(teacher=result, alone=results.get('alone', {}))
            else:
                results.setdefault(kind, {})[str(seed)] = result
            atomic_write(json.dumps(results, indent=1), path)

    teacher = results.get('teacher')
    if teacher and teacher.get('options') != _signature(setting, 'teacher', opts):
        teacher = None
    if 'teacher' in runs and teacher is None:
        teacher = run_config(setting, 'teacher', 0, opts, data, osp.join(root, 'teacher'))
        teacher['options'] = _signature(setting, 'teacher', opts)
        save('teacher', result=teacher)
    for kind in ('alone', 'distilled'):
        if kind not in runs:
            continue
        if kind == 'distilled' and teacher is None:
            raise InvalidValueError('no teacher trained with these options yet: run with '
                                    '--runs teacher first')
        for seed in seeds:
            done = results.get(kind, {}).get(str(seed))
            sig = _signature(setting, kind, opts)
            if done and done.get('options') == sig:
                continue
            result = run_config(setting, kind, seed, opts, data,
                                osp.join(root, f'{kind}-seed{seed}'), teacher)
            result['options'] = sig
            save(kind, seed, result)
    return results
