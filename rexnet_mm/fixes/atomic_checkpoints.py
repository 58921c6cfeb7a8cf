"""Checkpoints that survive ``kill -9`` (mmengine 0.10.7).

* ``LocalBackend.put`` (which ``save_checkpoint`` writes every checkpoint through) opens
  the destination and writes into it: a process killed mid-write leaves a truncated
  ``epoch_N.pth`` under the final name. Here it writes a temporary file in the same
  folder, ``fsync``s it and renames it over the destination (atomic on POSIX): the
  destination holds the old file or the whole new one, never a part.
* ``CheckpointHook`` with ``max_keep_ckpts`` deletes the oldest checkpoint *before*
  writing the new one: with ``max_keep_ckpts=1`` a kill during that write leaves no
  checkpoint at all and ``last_checkpoint`` naming a deleted file. Here the deletions
  wait until the new checkpoint and ``last_checkpoint`` are written.

``last_checkpoint`` itself is still written in place by the hook (a few bytes); a kill in
that instant leaves it empty, which ``rexnet_mm.apis.runner.find_resumable`` handles
(it falls back to the newest checkpoint that loads).
"""
import contextlib
import os
import os.path as osp


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


def make_checkpoints_atomic():
    """Apply both fixes (idempotent); True if applied."""
    import mmengine
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.hooks import CheckpointHook
    from mmengine.utils import digit_version
    if digit_version(mmengine.__version__) >= digit_version('0.11.0'):
        return False  # checked against 0.10.x
    if getattr(LocalBackend.put, '_rexnet_mm_atomic', False):
        return False

    def put(self, obj, filepath):
        atomic_write(obj, str(filepath))

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(obj.encode(encoding), str(filepath))

    put._rexnet_mm_atomic = True
    LocalBackend.put, LocalBackend.put_text = put, put_text

    original = CheckpointHook._save_checkpoint_with_step

    def _save_checkpoint_with_step(self, runner, step, meta):
        backend = self.file_backend
        deferred = []
        backend.remove = deferred.append  # shadows the method for this call only
        try:
            original(self, runner, step, meta)
        finally:
            del backend.remove
        for path in deferred:  # now that the new checkpoint is complete
            if path != getattr(self, 'last_ckpt', None) and backend.isfile(path):
                backend.remove(path)

    CheckpointHook._save_checkpoint_with_step = _save_checkpoint_with_step
    return True
