"""Checkpoints that survive ``kill -9`` (mmengine 0.10.7).

* ``LocalBackend.put`` (which ``save_checkpoint`` writes every checkpoint through) opens
  the destination and writes into it: a process killed mid-write leaves a truncated
  ``epoch_N.pth`` under the final name. Here mmengine's own ``put`` writes a temporary
  file in the same folder, which is ``fsync``ed and renamed over the destination (atomic
  on POSIX): the destination holds the old file or the whole new one, never a part.
* ``CheckpointHook`` with ``max_keep_ckpts`` deletes the oldest checkpoint *before*
  writing the new one: with ``max_keep_ckpts=1`` a kill during that write leaves no
  checkpoint at all and ``last_checkpoint`` naming a deleted file. Here the hook's own
  method runs with a file backend whose ``remove`` only records the path; the deletions
  happen once the new checkpoint and ``last_checkpoint`` are written.

``last_checkpoint`` itself is still written in place by the hook (a few bytes); a kill in
that instant leaves it empty, which ``rexnet_mm.apis.runner.find_resumable`` handles
(it falls back to the newest checkpoint that loads).
"""
import contextlib
import functools
import os
import os.path as osp

from .guard import Fix, guarded


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path in ``path``'s folder for a writer to fill (``open``, a library's
    own ``save(tmp)``): when the block ends normally it is fsynced and renamed over
    ``path`` (atomic on POSIX); on any error or interrupt it is removed and ``path`` is
    untouched."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp-{os.getpid()}'
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write(data, path):
    """Write ``data`` (bytes or str) to ``path`` through :func:`atomic_path`: an
    interrupted write never touches ``path``."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb' if isinstance(data, bytes) else 'w') as f:
            f.write(data)


class _DeferRemovals:
    """The hook's file backend, with ``remove`` recording the path instead of deleting
    it (everything else passes through to the backend)."""

    def __init__(self, backend):
        self.backend, self.deferred = backend, []

    def remove(self, path):
        self.deferred.append(path)

    def __getattr__(self, name):
        return getattr(self.backend, name)


FIX = Fix(
    'atomic_checkpoints', requires=(('mmengine', '0.10.7', '0.11.0'), ),
    pins={
        'mmengine.fileio.backends.local_backend:LocalBackend.put':
            '4106dd5908d615588164603f718bfbf06624b2535d625c7234c5b037fabc53fa',
        'mmengine.fileio.backends.local_backend:LocalBackend.put_text':
            '0cd7d1beb389b002c726129b6b3fdca5d262d8f5cb882e661869173187a36ef5',
        'mmengine.hooks.checkpoint_hook:CheckpointHook._save_checkpoint_with_step':
            'cdbc1b54c7c88d9525ab025a9d51a3d3be6e6e36396c0f1151ecf51281fd3482',
    },
    summary='`LocalBackend.put`/`put_text` write a temporary file and rename it over the '
            'destination; `CheckpointHook` deletes old checkpoints only after the new one '
            'and `last_checkpoint` are written')


@guarded(FIX)
def make_checkpoints_atomic():
    """Apply both fixes (idempotent); True if applied. Both wrap mmengine's own code:
    ``put``/``put_text`` write through it into a temporary path that is then renamed,
    and ``_save_checkpoint_with_step`` runs with a backend whose ``remove`` waits."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.hooks import CheckpointHook
    if getattr(LocalBackend.put, 'rexnet_mm_atomic', False):
        return False
    put, put_text = LocalBackend.put, LocalBackend.put_text

    @functools.wraps(put)
    def atomic_put(self, obj, filepath):
        with atomic_path(str(filepath)) as tmp:
            put(self, obj, tmp)

    @functools.wraps(put_text)
    def atomic_put_text(self, obj, filepath, encoding='utf-8'):
        with atomic_path(str(filepath)) as tmp:
            put_text(self, obj, tmp, encoding)

    atomic_put.rexnet_mm_atomic = True
    LocalBackend.put, LocalBackend.put_text = atomic_put, atomic_put_text

    save = CheckpointHook._save_checkpoint_with_step

    @functools.wraps(save)
    def save_then_prune(self, runner, step, meta):
        backend = self.file_backend
        self.file_backend = deferring = _DeferRemovals(backend)
        try:
            save(self, runner, step, meta)
        finally:
            self.file_backend = backend
        for path in deferring.deferred:  # now that the new checkpoint is complete
            if path != getattr(self, 'last_ckpt', None) and backend.isfile(path):
                backend.remove(path)

    CheckpointHook._save_checkpoint_with_step = save_then_prune
    return True
