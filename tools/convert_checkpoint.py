#!/usr/bin/env python
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
import os.path as osp
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint to read')
    parser.add_argument('dst', help='file to write')
    parser.add_argument('--family', choices=['rexnet', 'regnet'], default=None,
                        help='model family (default: detect)')
    parser.add_argument('--to', default='rexnet_mm',
                        help="output layout: 'rexnet_mm' (default), or 'timm'/'authors' "
                             "(ReXNet) / 'timm'/'pycls' (RegNet)")
    parser.add_argument('--force', action='store_true', help='overwrite DST')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    from rexnet_mm.converters import (FORMATS, CheckpointError, convert_state_dict,
                                      read_state_dict, save_checkpoint)
    from rexnet_mm.converters.export import export_state_dict
    if osp.abspath(args.src) == osp.abspath(args.dst):
        sys.exit('error: DST must differ from SRC (the source checkpoint is never overwritten)')
    if osp.exists(args.dst) and not args.force:
        sys.exit(f'error: {args.dst} exists; pass --force to overwrite it')
    try:
        state = read_state_dict(args.src)
        ours, fmt = convert_state_dict(state, args.family)
        family = FORMATS[fmt].family
        out = ours if args.to == 'rexnet_mm' else export_state_dict(ours, family, args.to)
    except (CheckpointError, FileNotFoundError, KeyError) as exc:
        sys.exit(f'error: {exc}')
    meta = dict(source=osp.abspath(args.src), source_format=fmt, family=family, layout=args.to)
    if family == 'regnet':  # the input channel order (and statistics) the file expects
        from rexnet_mm.converters.regnet import layout_meta
        meta.update(layout_meta('ours' if args.to == 'rexnet_mm' else args.to))
    else:  # ReXNet weights: RGB with ImageNet statistics, in every layout
        meta.update(input_order='RGB', mean=[123.675, 116.28, 103.53],
                    std=[58.395, 57.12, 57.375])
    save_checkpoint(out, args.dst, meta=meta)
    print(f'{args.src} ({fmt} layout, {len(state)} tensors) -> {args.dst} '
          f'({args.to} layout, {len(out)} tensors)')


if __name__ == '__main__':
    main()
