"""The errors a user can fix, and how a command line reports them (layer 0: imports
nothing of rexnet_mm).

rexnet_mm raises :class:`UserError` (or one of its subclasses) where the message names
the fix: a command line ends such an error with one line, ``error: ...``, and exit
status 1. Any other exception, of whatever type and from wherever (a ``FileNotFoundError``
deep inside a toolbox included), keeps its traceback: it is a defect, not a user's
mistake. ``REXNET_MM_DEBUG=1`` or ``--debug`` (every tool has it) prints the traceback
behind a one-line error as well.
"""
import functools
import os
import os.path as osp
import re
import sys
import traceback


class UserError(Exception):
    """An input that cannot work (a config, an option, a file); the message names the fix."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named (or a config names) does not exist."""


class ExistingFileError(UserError, FileExistsError):
    """An output would overwrite something that is kept (nothing was touched)."""


class InvalidValueError(UserError, ValueError):
    """A value (an option, a file's content) out of what works."""


#: The environment variable that shows the traceback behind every one-line error.
DEBUG_ENV = 'REXNET_MM_DEBUG'


def debug_enabled(argv=None):
    """``REXNET_MM_DEBUG`` set (to anything but ``''``/``0``), or ``--debug`` among
    ``argv`` (``sys.argv[1:]`` when None)."""
    if os.environ.get(DEBUG_ENV, '') not in ('', '0'):
        return True
    argv = sys.argv[1:] if argv is None else argv
    return '--debug' in [str(a) for a in argv]


def add_debug_flag(parser):
    """``--debug`` (read by :func:`one_line_errors` before parsing; here for ``--help``)."""
    parser.add_argument('--debug', action='store_true',
                        help=f'show the full traceback behind a one-line error (or set '
                             f'{DEBUG_ENV}=1)')
    return parser


def prog(spec):
    """argparse's ``prog`` for the command module of ``spec`` (its ``__spec__``):
    ``python -m rexnet_mm.tools.X`` when started that way, else argparse's default
    (the script's name: ``train.py`` for tools/train.py, ``rexnet-mm-train``)."""
    try:
        if spec is not None and sys.argv and osp.samefile(sys.argv[0], spec.origin):
            return f'python -m {spec.name}'
    except (OSError, TypeError):
        pass
    return None


def _recognised(exc, argv):
    """The one line for an exception we did not raise but know the meaning of, or None."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, AssertionError):
        # mmcv's LoadImageFromFile on an undecodable file (also when re-raised from a
        # DataLoader worker, the original traceback in the message)
        found = re.search(r'failed to load image: (\S+)', str(exc))
        if found:
            return (f'cannot decode image {found.group(1)} (corrupt or not an image): '
                    f'replace it, or remove it from the annotation file')
    if isinstance(exc, FileNotFoundError) and exc.filename is not None:
        # a file the user named on this command line, opened by whatever code
        named = {str(a) for a in (sys.argv[1:] if argv is None else argv)}
        if str(exc.filename) in named:
            return f'{exc.filename!r} does not exist ({exc.strerror or exc})'
    return None


def one_line_errors(main):
    """Decorator for a command's ``main(argv=None)``: an error we raised (or recognise)
    becomes ``SystemExit('error: ...')`` (exit status 1, one line on stderr), with the
    traceback first under ``--debug`` / ``REXNET_MM_DEBUG=1``; anything else propagates
    with its traceback."""

    @functools.wraps(main)
    def wrapper(argv=None, *args, **kwargs):
        try:
            return main(argv, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised unless recognised
            line = _recognised(exc, argv)
            if line is None:
                raise
            if debug_enabled(argv):
                traceback.print_exception(exc)
            raise SystemExit(f'error: {line}') from None

    return wrapper


def console(main):
    """The console entry point of ``main``: its exit status is 0 on success, 1 on a
    handled error (``SystemExit('error: ...')``), 2 on a usage error (argparse); the value
    ``main`` returns (a Runner, metrics) is for Python callers and is not printed."""

    @functools.wraps(main)
    def cli(argv=None):
        main(argv)
        return 0

    return cli
