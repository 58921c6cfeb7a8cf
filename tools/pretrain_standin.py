#!/usr/bin/env python
"""ImageNet stand-in: pre-train, export in a foreign layout, fine-tune vs. scratch.

    python tools/pretrain_standin.py [--work-dir work_dirs/standin] [--layout authors]
                                     [--pretrain-epochs 12] [--finetune-epochs 30]

Real ImageNet weights cannot be downloaded here, so this proves the transfer path
end to end with a checkpoint the repo makes itself:

1. generate a *different* task, 96 classes of shapes x fills x colour families
   (``rexnet_mm.datasets.synthetic_finegrained --task shapes``), and the embedded
   fine-grained set (32 "synthetic bird" classes, CUB layout);
2. pre-train the ReXNet-1.0 ImageNet classifier on the shapes
   (``configs/finegrained/standin_rexnet-1.0_shapes-pretrain.py``);
3. export its weights in the authors' (``rexnetv1.py``) or timm's key layout --
   the kind of file a user downloads;
4. fine-tune that file on the birds with ``tools/transfer.py``'s code path, and
   train the same model from scratch with the same data, schedule and seed;
5. print both test accuracies and their difference, and write them to
   ``<work-dir>/standin_result_<N>pc.json`` (N training images per bird class).

Datasets and the pre-trained checkpoint already in the work dir are reused when
they were made with the same parameters (so ``--finetune-per-class`` can be varied
without pre-training again); nothing outside the work dir is written.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from argparse import Namespace

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
PRETRAIN_CONFIG = osp.join(REPO, 'configs', 'finegrained',
                           'standin_rexnet-1.0_shapes-pretrain.py')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/standin')
    parser.add_argument('--layout', choices=('authors', 'timm'), default='authors',
                        help='key layout of the exported stand-in checkpoint')
    parser.add_argument('--pretrain-epochs', type=int, default=12)
    parser.add_argument('--pretrain-per-class', type=int, default=50,
                        help='training images per shapes class')
    parser.add_argument('--finetune-epochs', type=int, default=30)
    parser.add_argument('--finetune-per-class', type=int, default=10,
                        help='training images per bird class (test: 10)')
    parser.add_argument('--num-classes', type=int, default=32, help='bird classes')
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def pretrain(args, shapes_root, work_dir):
    """Pre-train the classifier on the shapes; returns the final state dict."""
    import train  # tools/train.py (tools/ is on sys.path when a tool runs)
    cfg = train.load_config(PRETRAIN_CONFIG, None, 'none', work_dir)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].dataset.data_root = shapes_root
        cfg[name].num_workers = args.num_workers
        cfg[name].persistent_workers = args.num_workers > 0
    import transfer  # tools/transfer.py
    transfer.set_epochs(cfg, args.pretrain_epochs)
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    train.set_default_dataloader_cfg(cfg, ('train_dataloader', 'val_dataloader',
                                           'test_dataloader'))
    runner = train.build_runner(cfg)
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
    from rexnet_mm.converters import detect_format
    from rexnet_mm.converters.export import export_state_dict

    foreign = export_state_dict(state, 'rexnet', layout)
    fmt = detect_format(foreign, 'rexnet')
    if fmt != f'rexnet_{layout}':
        raise RuntimeError(f'exported checkpoint is detected as {fmt}, not rexnet_{layout}')
    tmp = path + '.tmp'
    torch.save(foreign, tmp)  # the authors and timm publish bare state dicts
    os.replace(tmp, path)
    return fmt


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, REPO)
    from rexnet_mm.datasets.synthetic_finegrained import (GENERATOR_VERSION,
                                                          write_finegrained, write_shapes)

    work = osp.abspath(args.work_dir)
    shapes_root = osp.join(work, 'data', 'shapes')
    birds_root = osp.join(work, 'data', f'synthetic_birds_{args.num_classes}c_'
                          f'{args.finetune_per_class}pc')
    t0 = time.time()
    write_shapes(shapes_root, train_per_class=args.pretrain_per_class, seed=args.seed)
    write_finegrained(birds_root, num_classes=args.num_classes,
                      train_per_class=args.finetune_per_class, seed=args.seed)
    print(f'[standin] datasets ready in {time.time() - t0:.0f}s: {shapes_root}, {birds_root}')

    ckpt = osp.join(work, f'standin_rexnet-1.0_shapes_{args.layout}.pth')
    params = dict(version=GENERATOR_VERSION, layout=args.layout, seed=args.seed,
                  epochs=args.pretrain_epochs, per_class=args.pretrain_per_class)
    record = _read_json(ckpt + '.json')
    if osp.isfile(ckpt) and record.get('params') == params:
        pre_top1, pretrain_time, fmt = (record['val_top1'], record['seconds'],
                                        record['format'])
        print(f'[standin] reusing {ckpt} (same pre-training parameters)')
    else:
        t0 = time.time()
        state, pre_top1 = pretrain(args, shapes_root, osp.join(work, 'pretrain'))
        fmt = export(state, args.layout, ckpt)
        pretrain_time = time.time() - t0
        with open(ckpt + '.json', 'w') as f:
            json.dump(dict(params=params, val_top1=pre_top1, format=fmt,
                           seconds=round(pretrain_time, 1)), f, indent=1)
    print(f'[standin] pre-trained on shapes: val top-1 {pre_top1:.2f} '
          f'({pretrain_time:.0f}s); {ckpt} ({fmt} layout)')

    import transfer  # tools/transfer.py
    results = {}
    for init in ('pretrained', 'scratch'):
        t0 = time.time()
        run_args = Namespace(
            dataset='synthetic', arch='rexnet_1.0', data_root=birds_root,
            checkpoint=ckpt if init == 'pretrained' else None,
            scratch=init == 'scratch', eval_only=None,
            work_dir=osp.join(work, f'finetune_{args.finetune_per_class}pc_{init}'),
            epochs=args.finetune_epochs,
            batch_size=None, lr=None, num_workers=args.num_workers, seed=args.seed,
            cfg_options=None)
        results[init] = transfer.run(run_args)
        results[init]['seconds'] = round(time.time() - t0, 1)

    gain1 = results['pretrained']['top1'] - results['scratch']['top1']
    gain5 = results['pretrained']['top5'] - results['scratch']['top5']
    summary = dict(
        pretrain=dict(task='shapes (96 classes)', epochs=args.pretrain_epochs,
                      per_class=args.pretrain_per_class, val_top1=pre_top1,
                      checkpoint=ckpt, layout=fmt, seconds=round(pretrain_time, 1)),
        finetune=dict(task=f'synthetic birds ({args.num_classes} classes)',
                      epochs=args.finetune_epochs, per_class=args.finetune_per_class),
        pretrained=results['pretrained'], scratch=results['scratch'],
        gain_top1=gain1, gain_top5=gain5)
    with open(osp.join(work, f'standin_result_{args.finetune_per_class}pc.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'\n[standin] synthetic birds ({args.num_classes} classes, '
          f'{args.finetune_per_class} training images each), ReXNet-1.0, '
          f'{args.finetune_epochs} epochs, seed {args.seed}')
    for init, label in (('pretrained', f'from the stand-in checkpoint ({fmt})'),
                        ('scratch', 'from scratch (same data, schedule, seed)')):
        print(f'[standin]   {label:<42} top-1 {results[init]["top1"]:6.2f}  '
              f'top-5 {results[init]["top5"]:6.2f}')
    print(f'[standin]   pre-training gain: {gain1:+.2f} top-1, {gain5:+.2f} top-5 points')
    return summary


if __name__ == '__main__':
    main()
