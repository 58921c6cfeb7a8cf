"""Convert a ReXNet or RegNet checkpoint to rexnet_mm's layout (or export it).

    python tools/convert_checkpoint.py SRC DST             # any known layout -> ours
    python tools/convert_checkpoint.py SRC DST --to timm   # ours/any -> timm layout

The input layout is detected (authors' ReXNet, timm, pycls, mmdet RegNet, ours).
The output is an mmengine checkpoint ``{'meta': ..., 'state_dict': ...}`` whose
``backbone.*``/``head.*`` keys load into our ImageNet classifiers and, through
``init_cfg=dict(type='Pretrained', checkpoint=DST)``, into our backbones. DST is
never the source and is not overwritten unless ``--force`` is given.
"""
import argparse

from . import one_line_errors


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint to read')
    parser.add_argument('dst', help='file to write')
    parser.add_argument('--family', choices=['rexnet', 'regnet'], default=None,
                        help='model family (default: detect)')
    parser.add_argument('--to', default='rexnet_mm',
                        help="output layout: 'rexnet_mm' (default), or 'timm'/'authors' "
                             "(ReXNet) / 'pycls'/'timm'/'mmdet' (RegNet)")
    parser.add_argument('--force', action='store_true', help='overwrite DST')
    return parser.parse_args(argv)


@one_line_errors
def main(argv=None):
    from ..weights import convert_file
    args = parse_args(argv)
    print(convert_file(args.src, args.dst, args.to, args.family, args.force))


if __name__ == '__main__':
    main()
