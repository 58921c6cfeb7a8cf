"""The command lines, as modules: ``python -m rexnet_mm.tools.train CONFIG`` is
``python tools/train.py CONFIG``. Each module has ``main(argv=None)``; the library errors
that name their fix (bad config, missing file, wrong checkpoint) end the command with one
line, ``error: ...``, and exit status 1."""
import functools
import re

from ..apis.config import ConfigError
from ..apis.finegrained_layouts import DatasetLayoutError
from ..weights import CheckpointError

USER_ERRORS = (ConfigError, CheckpointError, DatasetLayoutError, FileNotFoundError,
               FileExistsError)


def one_line_errors(main):
    """Decorator for ``main``: user errors become ``SystemExit('error: ...')``."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except USER_ERRORS as exc:
            raise SystemExit(f'error: {exc}') from None
        except AssertionError as exc:
            # mmcv's LoadImageFromFile on an undecodable file (also when re-raised from
            # a DataLoader worker, the original traceback in the message)
            found = re.search(r'failed to load image: (\S+)', str(exc))
            if found is None:
                raise
            raise SystemExit(f'error: cannot decode image {found.group(1)} (corrupt or not '
                             f'an image): replace it, or remove it from the annotation '
                             f'file') from None

    return wrapper


def dict_action():
    from mmengine.config import DictAction
    return DictAction


def add_common_args(parser):
    """The flags tools/train.py and tools/test.py share (mmdet's names)."""
    import argparse
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
    return parser


def export_local_rank(args):
    """Export the launcher's local rank as LOCAL_RANK, as mmdet's tools do."""
    import os
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args
