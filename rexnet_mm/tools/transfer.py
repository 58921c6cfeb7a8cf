"""Fine-tune an ImageNet checkpoint on a fine-grained dataset, then evaluate it.

    python tools/transfer.py DATASET --model MODEL [--checkpoint PATH] --data-root DIR
                             [--work-dir DIR] [--epochs N] [--batch-size N] [--lr LR]
                             [--seed N] [--cfg-options KEY=VALUE ...]
    python tools/transfer.py DATASET --model MODEL --scratch --data-root DIR ...
    python tools/transfer.py DATASET --model MODEL --eval-only CKPT --data-root DIR

DATASET is one of cub, cars, aircraft, flowers, food, pets (the real releases, in
the folder layouts of mmpretrain's dataset classes, see docs/transfer.md) or
``synthetic`` (the embedded set of ``python -m rexnet_mm.synthetic.finegrained``).
MODEL is rexnet-1.0, rexnet-1.5 or regnety-1.6gf (:mod:`rexnet_mm.apis.transfer`).
The last line prints the test top-1/top-5 from mmpretrain's Accuracy metric.
"""
import argparse
import sys

from . import add_debug_flag, console, dict_action, one_line_errors, prog


def parse_args(argv=None):
    from ..apis.transfer import DATASET_CONFIGS, MODELS
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Fine-tune an ImageNet checkpoint on a fine-grained dataset and '
                    'report test top-1/top-5.')
    parser.add_argument('dataset', choices=list(DATASET_CONFIGS))
    parser.add_argument('--model', default='rexnet-1.0',
                        help=f"one of {', '.join(MODELS)} (default rexnet-1.0)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--checkpoint', help='ImageNet checkpoint (any supported layout, a '
                        'zoo name rexnet_mm://NAME, hf-hub:REPO or a URL); default: the '
                        'ImageNet weights the recipe names, fetched on first use')
    source.add_argument('--scratch', action='store_true',
                        help='random initialisation instead of a checkpoint (baseline)')
    source.add_argument('--eval-only', metavar='CKPT',
                        help='only evaluate a checkpoint written by a previous run')
    parser.add_argument('--data-root', required=True, help='dataset folder')
    parser.add_argument('--work-dir', help='default: work_dirs/transfer/<model>_<dataset>')
    parser.add_argument('--epochs', type=int, help='override the recipe\'s epochs '
                        '(warm-up and cosine decay are rescaled)')
    parser.add_argument('--batch-size', type=int, help='per-process batch size')
    parser.add_argument('--lr', type=float, help='backbone learning rate '
                        '(the classifier uses 10x)')
    parser.add_argument('--num-workers', type=int, help='data loader workers')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', metavar='KEY=VALUE',
                        action=dict_action(), help='further config overrides')
    return add_debug_flag(parser).parse_args(argv)


@one_line_errors
def main(argv=None):
    from ..apis.transfer import TransferOptions, run
    args = vars(parse_args(argv))
    args.pop('debug')
    result = run(TransferOptions(**args))
    print(f'transfer {result["dataset"]} {result["model"]} ({result["init"]}): '
          f'test top-1 {result["top1"]:.2f}  top-5 {result["top5"]:.2f}')
    return result


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
