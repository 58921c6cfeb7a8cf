"""Fixes for upstream defects that block rexnet_mm, applied on ``import rexnet_mm``.

Each fix is narrow, idempotent and guarded by a version check of the package it
mends, so that a fixed upstream release is left alone. Never edit site-packages.

* :mod:`.checkpoint_loading`: mmengine 0.10.7 + torch >= 2.6 cannot load the
  checkpoints its own Runner saved (``--resume``, ``load_from``).
* :mod:`.ssd_head`: mmdet 3.3.0's ``SSDHead`` crashes at inference, and under
  ``torchrun`` normalises its loss by each process's own positives.
* :mod:`.atomic_checkpoints`: mmengine writes checkpoints in place and prunes old ones
  before the new one is written: a ``kill -9`` can leave a truncated file or none.
* :mod:`.default_scope`: mmengine's default scope is process-global, so one toolbox's
  inferencer breaks the next toolbox's; each runs in its own scope and restores the
  caller's (:func:`default_scope` for everyone else).
"""
from .atomic_checkpoints import atomic_path, atomic_write, make_checkpoints_atomic
from .checkpoint_loading import allow_runner_checkpoints
from .default_scope import default_scope, isolate_toolbox_scopes
from .ssd_head import fix_ssd_distributed_loss, fix_ssd_head_inference

APPLIED = {
    'checkpoint_loading': allow_runner_checkpoints(),
    'ssd_head': fix_ssd_head_inference(),
    'ssd_distributed_loss': fix_ssd_distributed_loss(),
    'default_scope': isolate_toolbox_scopes(),
    'atomic_checkpoints': make_checkpoints_atomic(),
}

__all__ = ['APPLIED', 'allow_runner_checkpoints', 'atomic_path', 'atomic_write', 'default_scope',
           'make_checkpoints_atomic', 'fix_ssd_distributed_loss', 'fix_ssd_head_inference',
           'isolate_toolbox_scopes']
