"""Let torch's weights-only loader read the checkpoints mmengine's Runner writes.

torch >= 2.6 loads with ``weights_only=True`` by default. mmengine 0.10.7 calls
``torch.load`` without that argument, and a Runner checkpoint holds, besides tensors,
its ``message_hub`` (``HistoryBuffer`` objects of numpy arrays and numpy scalars), so
``--resume`` and ``load_from`` fail with ``Unsupported global:
numpy._core.multiarray.scalar``.

Rather than turning the safety off (``weights_only=False`` everywhere), we add exactly
the classes mmengine itself writes to torch's allow-list. Files users download keep
being loaded weights-only: anything else that needs arbitrary code still fails.

One entry needs care: ``HistoryBuffer.__getstate__`` stores its statistics methods,
which pickle writes as ``getattr(HistoryBuffer, 'mean')``. Allowing ``getattr`` itself
would open every attribute of every allowed class; instead the name
``builtins.getattr`` is bound to :func:`history_buffer_getattr`, which resolves only
HistoryBuffer's registered statistics methods and refuses anything else.
"""
import pickle

import numpy as np
import torch

from .guard import Fix, guarded

FIX = Fix(
    'checkpoint_loading',
    requires=(('mmengine', '0.10.7', '0.11.0'), ('torch', '2.4', '3.0')),
    pins={  # torch.load without weights_only; what HistoryBuffer pickles
        'mmengine.runner.checkpoint:load_from_local':
            'aa24a2a99a65f3f6bfda9e682038e22fda6b6ebf0ef5b8fd751d9e7f8c741645',
        'mmengine.logging.history_buffer:HistoryBuffer.__getstate__':
            '1d06f3429c0e4a988e1c2f9a616b5da493c48ced5171038881a9ebe679c0f0f5',
    },
    summary="adds the classes mmengine's Runner writes into a checkpoint (numpy arrays and "
            "scalars, `HistoryBuffer`) to torch's weights-only allow-list, so `--resume` "
            'and `load_from` load them; nothing else is allowed')


def history_buffer_getattr(obj, name):
    """``getattr`` as a Runner checkpoint uses it: HistoryBuffer statistics only."""
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) in a weights-only checkpoint: only '
        f'mmengine HistoryBuffer statistics methods are allowed')


def runner_checkpoint_globals():
    """The non-tensor classes found in checkpoints saved by mmengine's Runner."""
    from mmengine.logging.history_buffer import HistoryBuffer

    try:  # numpy >= 2 (numpy 1.26 ships it as a shim)
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy < 1.26
        from numpy.core import multiarray
    classes = [HistoryBuffer, np.ndarray, np.dtype,
               (history_buffer_getattr, 'builtins.getattr')]
    # a pickle names these after the numpy that wrote it: accept both spellings
    for attr in ('scalar', '_reconstruct'):
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            classes.append((getattr(multiarray, attr), f'{module}.{attr}'))
    # numpy >= 1.25 pickles dtypes through their per-type classes (numpy.dtypes.*)
    for name in ('float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64',
                 'uint8', 'bool'):
        classes.append(type(np.dtype(name)))
    return classes


@guarded(FIX)
def allow_runner_checkpoints():
    """Allow-list mmengine's checkpoint classes (torch >= 2.4 has the allow-list; from
    2.6 on it is what ``torch.load`` uses by default); True if applied."""
    torch.serialization.add_safe_globals(runner_checkpoint_globals())
    return True
