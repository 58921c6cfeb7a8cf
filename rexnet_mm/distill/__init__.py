"""Knowledge distillation on mmengine (layer 3: models below, apis above).

* :mod:`.losses`: logits KD (Hinton et al. 2015, ``T**2`` scaled) and channel-wise
  distillation (CWD, Shu et al. 2021) as plain functions;
* :mod:`.distiller`: ``ClsDistiller`` (mmpretrain classifiers, logits KD) and
  ``DetDistiller`` (mmdet single-stage detectors: CWD on the neck outputs, optional
  logits KD on the classification outputs), mmengine ``BaseModel`` wrappers that
  train a student against a frozen teacher built from its own config and checkpoint;
* :mod:`.hooks`: ``StudentConfigHook``, which writes the plain student config
  (``student_config``) into every saved checkpoint's ``meta``.

The teacher is no submodule of the wrapper: it is in no state dict, no optimizer, no
``model.train()``; the saved checkpoint holds exactly the student's keys
(docs/distillation.md). mmrazor was tried first and does not import with this stack.
"""
from .distiller import ClsDistiller, DetDistiller  # noqa: F401
from .hooks import StudentConfigHook, student_config  # noqa: F401
from .losses import channel_wise_divergence, logits_kd  # noqa: F401

__all__ = ['ClsDistiller', 'DetDistiller', 'StudentConfigHook', 'channel_wise_divergence',
           'logits_kd', 'student_config']
