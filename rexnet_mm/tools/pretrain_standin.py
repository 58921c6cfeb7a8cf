"""ImageNet stand-in: pre-train, export in a foreign layout, fine-tune vs. scratch.

    python tools/pretrain_standin.py [--work-dir work_dirs/standin] [--layout authors]
                                     [--pretrain-epochs 12] [--finetune-epochs 30]

See :mod:`rexnet_mm.apis.standin` and docs/transfer.md.
"""
import argparse
import sys

from . import add_debug_flag, console, one_line_errors, prog


def parse_args(argv=None):
    from ..apis.standin import StandinOptions
    d = StandinOptions()
    parser = argparse.ArgumentParser(prog=prog(__spec__),
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default=d.work_dir)
    parser.add_argument('--layout', choices=('authors', 'timm'), default=d.layout,
                        help='key layout of the exported stand-in checkpoint')
    parser.add_argument('--pretrain-epochs', type=int, default=d.pretrain_epochs)
    parser.add_argument('--pretrain-per-class', type=int, default=d.pretrain_per_class,
                        help='training images per shapes class')
    parser.add_argument('--finetune-epochs', type=int, default=d.finetune_epochs)
    parser.add_argument('--finetune-per-class', type=int, default=d.finetune_per_class,
                        help='training images per bird class (test: 10)')
    parser.add_argument('--num-classes', type=int, default=d.num_classes, help='bird classes')
    parser.add_argument('--num-workers', type=int, default=d.num_workers)
    parser.add_argument('--seed', type=int, default=d.seed)
    return add_debug_flag(parser).parse_args(argv)


@one_line_errors
def main(argv=None):
    from ..apis.standin import StandinOptions, run
    args = vars(parse_args(argv))
    args.pop('debug')
    opts = StandinOptions(**args)
    summary = run(opts)
    fmt, res = summary['pretrain']['layout'], summary
    print(f'\n[standin] synthetic birds ({opts.num_classes} classes, '
          f'{opts.finetune_per_class} training images each), ReXNet-1.0, '
          f'{opts.finetune_epochs} epochs, seed {opts.seed}')
    for init, label in (('pretrained', f'from the stand-in checkpoint ({fmt})'),
                        ('scratch', 'from scratch (same data, schedule, seed)')):
        print(f'[standin]   {label:<42} top-1 {res[init]["top1"]:6.2f}  '
              f'top-5 {res[init]["top5"]:6.2f}')
    print(f'[standin]   pre-training gain: {res["gain_top1"]:+.2f} top-1, '
          f'{res["gain_top5"]:+.2f} top-5 points')
    return summary


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
