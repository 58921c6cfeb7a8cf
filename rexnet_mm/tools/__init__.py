"""The command lines, as modules: ``python -m rexnet_mm.tools.train CONFIG`` is
``python tools/train.py CONFIG``. Each module has ``main(argv=None)``; the library errors
that name their fix (bad config, missing file, wrong checkpoint: :class:`rexnet_mm.errors.UserError`)
end the command with one line, ``error: ...``, and exit status 1 (``--debug`` or
``REXNET_MM_DEBUG=1`` print the traceback too); anything else keeps its traceback. ``cli``
is each module's console entry point: exit status 0 on success, 1 on a handled error, 2 on
a usage error, however the command is started."""
from ..errors import UserError, add_debug_flag, console, one_line_errors, prog  # noqa: F401

#: What the tools end in one line: the errors whose message names the fix.
USER_ERRORS = (UserError, )


def dict_action():
    from mmengine.config import DictAction
    return DictAction


def add_common_args(parser):
    """The flags tools/train.py and tools/test.py share (mmdet's names, and ours:
    ``--data-root``, ``--debug``)."""
    import argparse
    parser.add_argument('--data-root', metavar='DIR',
                        help="move every dataset, evaluator and annotation path of the "
                             "config to DIR (the folder that replaces the config's "
                             "data_root, e.g. data/shapes_coco_v3/)")
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=dict_action(), metavar='KEY=VALUE',
        help='override config entries, e.g. model.backbone.init_cfg=None '
             'train_cfg.max_epochs=12 (lists: key="[a,b]")')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    return add_debug_flag(parser)


def config_arg(parser):
    parser.add_argument('config', help="config file, or the name of a shipped config "
                        "(e.g. ssdlite_rexnet_shapes; rexnet_mm.list_configs())")
    return parser


def export_local_rank(args):
    """Export the launcher's local rank as LOCAL_RANK, as mmdet's tools do."""
    import os
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args
