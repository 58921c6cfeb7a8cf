"""Train a model from an mmdet, mmseg or mmpretrain config with rexnet_mm's backbones.

    python tools/train.py CONFIG [--data-root DIR] [--work-dir DIR] [--resume [CKPT]] [--amp]
                                 [--auto-scale-lr] [--cfg-options KEY=VALUE ...]
                                 [--launcher {none,pytorch,slurm,mpi}]

The toolbox is the config's ``default_scope``; the training loop is mmengine's Runner
(:func:`rexnet_mm.apis.train`). Flags follow mmdet's tools/train.py. Before anything
is built, every ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` and annotation
file is checked: a missing one stops with one line that says how to get it. Without a
GPU, ``--launcher pytorch`` runs on the CPU with gloo (``tools/dist_train.sh``).
"""
import argparse
import sys

from . import add_common_args, config_arg, console, export_local_rank, one_line_errors, prog


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Train a detector, segmentor or classifier (mmdet / mmseg / '
                    'mmpretrain config) with mmengine\'s Runner.')
    config_arg(parser)
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by the actual total batch size '
                             '(uses the config\'s auto_scale_lr.base_batch_size)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto', metavar='CKPT',
        help='resume from CKPT, or, without a value, from the latest checkpoint in '
             'the work dir')
    return export_local_rank(add_common_args(parser).parse_args(argv))


@one_line_errors
def main(argv=None):
    from ..apis import load_config, train
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.launcher, args.work_dir,
                      data_root=args.data_root)
    return train(cfg, amp=args.amp, auto_scale_lr=args.auto_scale_lr, resume=args.resume)


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
