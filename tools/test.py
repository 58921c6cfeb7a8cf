#!/usr/bin/env python
"""Test (and evaluate) a checkpoint with an mmdet, mmseg or mmpretrain config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE.pkl]
                         [--json-prefix PREFIX] [--show] [--show-dir DIR]
                         [--cfg-options KEY=VALUE ...] [--launcher ...] [--tta]

Flags follow mmdet's tools/test.py; the toolbox is the config's ``default_scope``.

* ``--out FILE.pkl`` dumps the raw predictions (all toolboxes); for mmseg a
  directory instead keeps the predicted masks there (mmseg's own meaning).
* ``--json-prefix PREFIX`` (mmdet) writes COCO-format results ``PREFIX.bbox.json``
  (and ``PREFIX.segm.json`` for instance segmentation) for tools/coco_eval.py.
* ``--show-dir DIR`` saves images with predictions drawn into DIR.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # tools/: shared helpers
from train import (build_runner, check_data, load_config,  # noqa: E402
                   parse_with_common_args, set_default_dataloader_cfg,
                   setup_cpu_distributed, toolbox_of)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test a checkpoint (mmdet / mmseg / mmpretrain config) and print '
                    'its metrics.')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump predictions to a .pkl file (mmseg: or a '
                        'directory for the predicted masks)')
    parser.add_argument('--json-prefix', help='(mmdet) write COCO-format results to '
                        'PREFIX.bbox.json / PREFIX.segm.json')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--show-dir', help='save images with predictions drawn here')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds between shown images')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation (needs tta_model and tta_pipeline '
                             'in the config)')
    return parse_with_common_args(parser, argv)


def _visualize(cfg, toolbox, args):
    hooks = cfg.get('default_hooks', {})
    if 'visualization' not in hooks:
        raise SystemExit('error: --show/--show-dir need default_hooks.visualization in '
                         'the config')
    hook = hooks['visualization']
    show_dir = osp.abspath(args.show_dir) if args.show_dir else None
    if toolbox == 'mmpretrain':
        hook.update(enable=True, show=args.show, wait_time=args.wait_time,
                    out_dir=show_dir)
        return
    hook.update(draw=True)
    if args.show:
        hook.update(show=True, wait_time=args.wait_time)
    if show_dir and toolbox == 'mmdet':
        # DetVisualizationHook joins it to work_dir/timestamp; absolute stays as is
        hook['test_out_dir'] = show_dir
    elif show_dir:
        cfg.visualizer['save_dir'] = show_dir


def _coco_metrics(evaluator_cfg):
    metrics = evaluator_cfg if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]
    return [m for m in metrics if isinstance(m, dict) and m.get('type') in
            ('CocoMetric', 'mmdet.CocoMetric')]


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.launcher, args.work_dir)
    toolbox = toolbox_of(cfg, args.config)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint!r} does not exist')
    cfg.load_from = args.checkpoint

    if args.show or args.show_dir:
        _visualize(cfg, toolbox, args)

    if args.json_prefix:
        if toolbox != 'mmdet':
            raise SystemExit('error: --json-prefix writes COCO results; it needs an mmdet config')
        metrics = _coco_metrics(cfg.test_evaluator)
        if not metrics:
            raise SystemExit('error: --json-prefix needs a CocoMetric in test_evaluator')
        prefix = osp.abspath(args.json_prefix)
        os.makedirs(osp.dirname(prefix), exist_ok=True)
        for metric in metrics:
            metric['outfile_prefix'] = prefix

    dump_pkl = bool(args.out) and args.out.endswith(('.pkl', '.pickle'))
    if args.out and not dump_pkl:
        if toolbox != 'mmseg':
            raise SystemExit(f'error: --out must end with .pkl, got {args.out!r}')
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise SystemExit(f'error: --tta needs tta_model and tta_pipeline in {args.config}')
        from mmengine.config import ConfigDict
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline

    check_data(cfg, ('test_dataloader',))
    if toolbox == 'mmpretrain':
        set_default_dataloader_cfg(cfg, ('test_dataloader',))
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)

    if dump_pkl:
        if toolbox == 'mmdet':
            from mmdet.evaluation import DumpDetResults as Dump
        else:
            from mmengine.evaluator import DumpResults as Dump
        runner.test_evaluator.metrics.append(Dump(out_file_path=args.out))
    return runner.test()


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    main()
