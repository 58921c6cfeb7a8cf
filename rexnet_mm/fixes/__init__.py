"""Fixes for upstream defects that block rexnet_mm, applied on ``import rexnet_mm``.

Each fix is narrow and idempotent, wraps upstream code rather than replacing it where it
can, and is declared as a :class:`~.guard.Fix`: the upstream versions it was written for
and a sha256 of the source of each upstream function it patches or relies on. Outside
that range, or where the source differs, it warns in one line naming the fix
(:class:`~.guard.UpstreamFixWarning`) and is not applied; ``tests/test_fixes.py`` checks
every pin. Never edit site-packages. docs/install.md ("Upstream fixes") has the table.

* :mod:`.checkpoint_loading`: mmengine 0.10.7 + torch >= 2.6 cannot load the
  checkpoints its own Runner saved (``--resume``, ``load_from``).
* :mod:`.ssd_head`: mmdet 3.3.0's ``SSDHead`` crashes at inference, and under
  ``torchrun`` normalises its loss by each process's own positives.
* :mod:`.atomic_checkpoints`: mmengine writes checkpoints in place and prunes old ones
  before the new one is written: a ``kill -9`` can leave a truncated file or none.
* :mod:`.default_scope`: mmengine's default scope is process-global, so one toolbox's
  inferencer breaks the next toolbox's; each runs in its own scope and restores the
  caller's (:func:`default_scope` for everyone else).
* :mod:`.model_hub`: our models in mmpretrain's ``ModelHub`` and a check in front of
  ``get_model`` (applied by :mod:`rexnet_mm.apis.model_hub`, which knows our metafiles).

Private upstream names (``_BatchNorm``, ``ModelHub._models_dict``, ...) are used only in
this package; :mod:`.upstream` holds the ones the rest of rexnet_mm needs
(``tests/test_architecture.py`` checks).
"""
from . import atomic_checkpoints, checkpoint_loading, default_scope as _scope, model_hub, ssd_head
from .atomic_checkpoints import atomic_path, atomic_write, make_checkpoints_atomic
from .checkpoint_loading import allow_runner_checkpoints
from .default_scope import default_scope, isolate_toolbox_scopes
from .guard import Fix, UpstreamFixWarning
from .ssd_head import fix_ssd_distributed_loss, fix_ssd_head_inference

#: every upstream patch, in the order of docs/install.md's table
FIXES = (checkpoint_loading.FIX, ssd_head.INFERENCE, ssd_head.DISTRIBUTED_LOSS, _scope.FIX,
         atomic_checkpoints.FIX, model_hub.REGISTRATION, model_hub.GET_MODEL_GUARD)

#: what each patch applied on import returned (truthy: applied); ``model_hub`` and
#: ``get_model_guard`` are added by ``import rexnet_mm``
APPLIED = {
    'checkpoint_loading': allow_runner_checkpoints(),
    'ssd_head': fix_ssd_head_inference(),
    'ssd_distributed_loss': fix_ssd_distributed_loss(),
    'default_scope': isolate_toolbox_scopes(),
    'atomic_checkpoints': make_checkpoints_atomic(),
}

__all__ = ['APPLIED', 'FIXES', 'Fix', 'UpstreamFixWarning', 'allow_runner_checkpoints',
           'atomic_path', 'atomic_write', 'default_scope', 'make_checkpoints_atomic',
           'fix_ssd_distributed_loss', 'fix_ssd_head_inference', 'isolate_toolbox_scopes']
