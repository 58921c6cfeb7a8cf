"""Fixes for upstream defects that block rexnet_mm, applied on ``import rexnet_mm``.

Each fix is narrow, idempotent and guarded by a version check of the package it
mends, so that a fixed upstream release is left alone. Never edit site-packages.

* :mod:`.checkpoint_loading`: mmengine 0.10.7 + torch >= 2.6 cannot load the
  checkpoints its own Runner saved (``--resume``, ``load_from``).
* :mod:`.ssd_head`: mmdet 3.3.0's ``SSDHead`` crashes at inference.
* :mod:`.default_scope`: mmengine's default scope is process-global, so one toolbox's
  inferencer breaks the next toolbox's; each runs in its own scope and restores the
  caller's (:func:`default_scope` for everyone else).
"""
from .checkpoint_loading import allow_runner_checkpoints
from .default_scope import default_scope, isolate_toolbox_scopes
from .ssd_head import fix_ssd_head_inference

APPLIED = {
    'checkpoint_loading': allow_runner_checkpoints(),
    'ssd_head': fix_ssd_head_inference(),
    'default_scope': isolate_toolbox_scopes(),
}

__all__ = ['APPLIED', 'allow_runner_checkpoints', 'default_scope', 'fix_ssd_head_inference',
           'isolate_toolbox_scopes']
