"""Convert a ReXNet or RegNet checkpoint to rexnet_mm's layout (or export it).

    python tools/convert_checkpoint.py SRC DST             # any known layout -> ours
    python tools/convert_checkpoint.py SRC DST --to timm   # ours/any -> timm layout
    python tools/convert_checkpoint.py SRC1 SRC2 ... DIR   # many files -> DIR/<name>.pth

The input layout is detected (authors' ReXNet, timm, pycls, mmdet RegNet, ours).
The output is an mmengine checkpoint ``{'meta': ..., 'state_dict': ...}`` whose
``backbone.*``/``head.*`` keys load into our ImageNet classifiers and, through
``init_cfg=dict(type='Pretrained', checkpoint=DST)``, into our backbones. DST is
never the source and is not overwritten unless ``--force`` is given. With several
sources (a progress bar on stderr), each goes to ``DIR/<its name>.pth``; a file that
cannot be converted is reported in one line and the others are still converted
(exit status 1 if any failed).
"""
import argparse
import os
import os.path as osp
import sys

from ..errors import ExistingFileError
from . import USER_ERRORS, add_debug_flag, console, one_line_errors, prog


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=prog(__spec__),
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('src', nargs='+', help='checkpoint(s) to read')
    parser.add_argument('dst', help='file to write (a directory with several SRC)')
    parser.add_argument('--family', choices=['rexnet', 'regnet'], default=None,
                        help='model family (default: detect)')
    parser.add_argument('--to', default='rexnet_mm',
                        help="output layout: 'rexnet_mm' (default), or 'timm'/'authors' "
                             "(ReXNet) / 'pycls'/'timm'/'mmdet' (RegNet)")
    parser.add_argument('--force', action='store_true', help='overwrite DST')
    return add_debug_flag(parser).parse_args(argv)


@one_line_errors
def main(argv=None):
    from ..utils import progress_bar
    from ..weights import convert_file
    args = parse_args(argv)
    if len(args.src) == 1 and not osp.isdir(args.dst):
        print(convert_file(args.src[0], args.dst, args.to, args.family, args.force))
        return
    if osp.exists(args.dst) and not osp.isdir(args.dst):
        raise ExistingFileError(f'{args.dst} is a file: with several SRC, DST is a directory')
    os.makedirs(args.dst, exist_ok=True)
    bar, done, failed = progress_bar(len(args.src)), [], []
    for src in args.src:
        dst = osp.join(args.dst, osp.splitext(osp.basename(src))[0] + '.pth')
        try:
            done.append(convert_file(src, dst, args.to, args.family, args.force))
        except USER_ERRORS as exc:
            failed.append(f'error: {src}: {exc}')
        bar.update()
    print('\n'.join(done))
    print('\n'.join(failed), file=sys.stderr)
    if failed:
        sys.exit(f'error: {len(failed)} of {len(args.src)} checkpoints not converted '
                 f'(listed above)')


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
