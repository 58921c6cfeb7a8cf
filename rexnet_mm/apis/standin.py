"""ImageNet stand-in: pre-train, export in a foreign layout, fine-tune vs. scratch
(``tools/pretrain_standin.py``).

Real ImageNet weights cannot be downloaded here, so this proves the transfer path end
to end with a checkpoint made here:

1. generate a *different* task, 96 classes of shapes x fills x colour families
   (``rexnet_mm.synthetic.finegrained --task shapes``), and the embedded
   fine-grained set (32 "synthetic bird" classes, CUB layout);
2. pre-train the ReXNet-1.0 ImageNet classifier on the shapes
   (``configs/finegrained/standin_rexnet-1.0_shapes-pretrain.py``);
3. export its weights in the authors' (``rexnetv1.py``) or timm's key layout --
   the kind of file a user downloads;
4. fine-tune that file on the birds with the transfer recipe, and train the same model
   from scratch with the same data, schedule and seed;
5. return both test accuracies and their difference, also written to
   ``<work-dir>/standin_result_<N>pc.json`` (N training images per bird class).

Datasets and the pre-trained checkpoint already in the work dir are reused when they
were made with the same parameters; nothing outside the work dir is written.
"""
import json
import os
import os.path as osp
import time
from dataclasses import dataclass

from ..fixes import default_scope
from .config import config_dir, load_config, set_default_dataloader_cfg
from .runner import build_runner
from .transfer import TransferOptions, run as run_transfer, set_epochs


@dataclass
class StandinOptions:
    work_dir: str = 'work_dirs/standin'
    layout: str = 'authors'
    pretrain_epochs: int = 12
    pretrain_per_class: int = 50
    finetune_epochs: int = 30
    finetune_per_class: int = 10
    num_classes: int = 32
    num_workers: int = 2
    seed: int = 0


def pretrain(opts, shapes_root, work_dir):
    """Pre-train the classifier on the shapes; returns the final state dict and top-1."""
    cfg = load_config(osp.join(config_dir(), 'finegrained',
                               'standin_rexnet-1.0_shapes-pretrain.py'), None, 'none', work_dir)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = shapes_root
        cfg[name].num_workers = opts.num_workers
        cfg[name].persistent_workers = opts.num_workers > 0
    set_epochs(cfg, opts.pretrain_epochs)
    cfg.randomness = dict(seed=opts.seed, deterministic=False)
    set_default_dataloader_cfg(cfg)
    with default_scope(cfg.default_scope):
        runner = build_runner(cfg)
        runner.train()
        metrics = runner.val_loop.run() if runner.val_loop is not None else {}
    state = {k: v.detach().cpu() for k, v in runner.model.state_dict().items()
             if k.startswith(('backbone.', 'head.'))}
    return state, float(metrics.get('accuracy/top1', float('nan')))


def _read_json(path):
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def export(state, layout, path):
    """Save ``state`` (our layout) as a plain state dict in ``layout``."""
    import torch
    from ..weights import detect_format, export_state_dict

    foreign = export_state_dict(state, 'rexnet', layout)
    fmt = detect_format(foreign, 'rexnet')
    if fmt != f'rexnet_{layout}':
        raise RuntimeError(f'exported checkpoint is detected as {fmt}, not rexnet_{layout}')
    tmp = path + '.tmp'
    torch.save(foreign, tmp)  # the authors and timm publish bare state dicts
    os.replace(tmp, path)
    return fmt


def run(opts, log=print):
    """The whole stand-in experiment; returns the summary dict."""
    from ..synthetic.finegrained import GENERATOR_VERSION, write_finegrained, write_shapes

    work = osp.abspath(opts.work_dir)
    shapes_root = osp.join(work, 'data', 'shapes')
    birds_root = osp.join(work, 'data', f'synthetic_birds_{opts.num_classes}c_'
                          f'{opts.finetune_per_class}pc')
    t0 = time.time()
    write_shapes(shapes_root, train_per_class=opts.pretrain_per_class, seed=opts.seed)
    write_finegrained(birds_root, num_classes=opts.num_classes,
                      train_per_class=opts.finetune_per_class, seed=opts.seed)
    log(f'[standin] datasets ready in {time.time() - t0:.0f}s: {shapes_root}, {birds_root}')

    ckpt = osp.join(work, f'standin_rexnet-1.0_shapes_{opts.layout}.pth')
    params = dict(version=GENERATOR_VERSION, layout=opts.layout, seed=opts.seed,
                  epochs=opts.pretrain_epochs, per_class=opts.pretrain_per_class)
    record = _read_json(ckpt + '.json')
    if osp.isfile(ckpt) and record.get('params') == params:
        pre_top1, pretrain_time, fmt = (record['val_top1'], record['seconds'],
                                        record['format'])
        log(f'[standin] reusing {ckpt} (same pre-training parameters)')
    else:
        t0 = time.time()
        state, pre_top1 = pretrain(opts, shapes_root, osp.join(work, 'pretrain'))
        fmt = export(state, opts.layout, ckpt)
        pretrain_time = time.time() - t0
        with open(ckpt + '.json', 'w') as f:
            json.dump(dict(params=params, val_top1=pre_top1, format=fmt,
                           seconds=round(pretrain_time, 1)), f, indent=1)
    log(f'[standin] pre-trained on shapes: val top-1 {pre_top1:.2f} '
        f'({pretrain_time:.0f}s); {ckpt} ({fmt} layout)')

    results = {}
    for init in ('pretrained', 'scratch'):
        t0 = time.time()
        results[init] = run_transfer(TransferOptions(
            dataset='synthetic', model='rexnet-1.0', data_root=birds_root,
            checkpoint=ckpt if init == 'pretrained' else None, scratch=init == 'scratch',
            work_dir=osp.join(work, f'finetune_{opts.finetune_per_class}pc_{init}'),
            epochs=opts.finetune_epochs, num_workers=opts.num_workers, seed=opts.seed))
        results[init]['seconds'] = round(time.time() - t0, 1)

    summary = dict(
        pretrain=dict(task='shapes (96 classes)', epochs=opts.pretrain_epochs,
                      per_class=opts.pretrain_per_class, val_top1=pre_top1,
                      checkpoint=ckpt, layout=fmt, seconds=round(pretrain_time, 1)),
        finetune=dict(task=f'synthetic birds ({opts.num_classes} classes)',
                      epochs=opts.finetune_epochs, per_class=opts.finetune_per_class),
        pretrained=results['pretrained'], scratch=results['scratch'],
        gain_top1=results['pretrained']['top1'] - results['scratch']['top1'],
        gain_top5=results['pretrained']['top5'] - results['scratch']['top5'])
    with open(osp.join(work, f'standin_result_{opts.finetune_per_class}pc.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    return summary
