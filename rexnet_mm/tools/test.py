"""Test (and evaluate) a checkpoint with an mmdet, mmseg or mmpretrain config.

    python tools/test.py CONFIG CHECKPOINT [--data-root DIR] [--work-dir DIR] [--out FILE.pkl]
                         [--json-prefix PREFIX] [--show] [--show-dir DIR] [--fuse-bn]
                         [--cfg-options KEY=VALUE ...] [--launcher ...] [--tta]

Flags follow mmdet's tools/test.py; the toolbox is the config's ``default_scope``.

* ``--out FILE.pkl`` dumps the raw predictions (all toolboxes); for mmseg a
  directory instead keeps the predicted masks there (mmseg's own meaning).
* ``--json-prefix PREFIX`` (mmdet) writes COCO-format results ``PREFIX.bbox.json``
  (and ``PREFIX.segm.json`` for instance segmentation) for tools/coco_eval.py.
* ``--show-dir DIR`` saves images with predictions drawn into DIR.
"""
import argparse
import sys

from . import add_common_args, config_arg, console, export_local_rank, one_line_errors, prog


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=prog(__spec__),
        description='Test a checkpoint (mmdet / mmseg / mmpretrain config) and print '
                    'its metrics.')
    config_arg(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump predictions to a .pkl file (mmseg: or a '
                        'directory for the predicted masks)')
    parser.add_argument('--json-prefix', help='(mmdet) write COCO-format results to '
                        'PREFIX.bbox.json / PREFIX.segm.json')
    parser.add_argument('--show', action='store_true', help='show predictions in a window')
    parser.add_argument('--show-dir', help='save images with predictions drawn here')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='seconds between shown images')
    parser.add_argument('--fuse-bn', action='store_true',
                        help='fold BatchNorm into the convs before testing (same '
                             'predictions, faster)')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation (needs tta_model and tta_pipeline '
                             'in the config)')
    return export_local_rank(add_common_args(parser).parse_args(argv))


@one_line_errors
def main(argv=None):
    from ..apis import load_config, test
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.launcher, args.work_dir,
                      data_root=args.data_root)
    return test(cfg, args.checkpoint, out=args.out, json_prefix=args.json_prefix,
                show=args.show, show_dir=args.show_dir, wait_time=args.wait_time,
                tta=args.tta, fuse_bn=args.fuse_bn)


cli = console(main)

if __name__ == '__main__':
    sys.exit(cli())
