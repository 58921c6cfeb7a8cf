"""Distillation wrappers: a student trained against a frozen teacher, on mmengine.

A distillation config replaces a student config's ``model`` with::

    model = dict(type='ClsDistiller',           # or 'DetDistiller'
                 student=<the student's model dict>,
                 teacher_config='configs/...py',  # its ``model`` is built
                 teacher_checkpoint='work_dirs/.../epoch_N.pth',
                 kd_weight=1.0, temperature=4.0)

and everything else (data, schedule, evaluation) stays the student config's. The
teacher is built from its own config (its own data preprocessor: a BGR RegNet teacher
and an RGB ReXNet student each see the images their way), loaded strictly, frozen and
kept in eval mode. It is **no submodule** of the wrapper: it is in no ``state_dict``,
no optimizer, no ``model.train()``; it moves to the student's device when a training
step finds it elsewhere. The wrapper's state dict is the student's with the
student's own keys (``backbone.*``, not ``student.backbone.*``): every checkpoint the
Runner saves loads with ``strict=True`` into the plain student config's model; adapters
(1x1 convs matching a student's feature channels to the teacher's) are left out of it
too (they only serve the training loss; a resumed run starts them afresh).
Validation and testing run the student alone.
"""
import copy
import os.path as osp

import torch
from mmengine.model import BaseModel
from torch import nn

from ..errors import InvalidValueError, MissingFileError
from ..fixes import default_scope
from ..registry import register_model
from .losses import channel_wise_divergence, logits_kd

#: submodules of the wrapper that are not the student's and are never saved
_NOT_SAVED = ('adapters.', 'data_preprocessor.')


def _drop_pretrained(node):
    """``init_cfg=dict(type='Pretrained', ...)`` removed everywhere (the teacher's
    weights come from its checkpoint; no ImageNet file is needed or fetched)."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            _drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_pretrained(value)


def load_teacher_config(teacher_config):
    """``(model dict, default scope)`` of a teacher config: a path or a config dict
    holding ``model``; its top-level ``data_preprocessor`` goes into the model (as the
    Runner does)."""
    from mmengine.config import Config
    if isinstance(teacher_config, str):
        if not osp.isfile(teacher_config):
            raise MissingFileError(f'teacher config {teacher_config!r} does not exist '
                                   f'(paths are relative to the working directory)')
        teacher_config = Config.fromfile(teacher_config)
    if not isinstance(teacher_config, (dict, Config)) or not isinstance(
            teacher_config.get('model'), dict):
        raise InvalidValueError('teacher_config must be a config file or a config dict '
                                'with a model')
    model = copy.deepcopy(dict(teacher_config['model']))
    preprocessor = teacher_config.get('data_preprocessor')
    if isinstance(preprocessor, dict) and 'data_preprocessor' not in model:
        model['data_preprocessor'] = copy.deepcopy(preprocessor)
    _drop_pretrained(model)
    return model, teacher_config.get('default_scope')


def build_teacher(teacher_config, teacher_checkpoint):
    """``(teacher, model dict)``: the teacher model, loaded with ``strict=True``, frozen,
    in eval mode, and its model config (:func:`load_teacher_config`)."""
    from mmengine.registry import MODELS
    from mmengine.runner import load_checkpoint
    model_cfg, scope = load_teacher_config(teacher_config)
    if not isinstance(teacher_checkpoint, str) or not osp.isfile(teacher_checkpoint):
        shown = teacher_config if isinstance(teacher_config, str) else 'CONFIG'
        raise MissingFileError(
            f'teacher checkpoint {teacher_checkpoint!r} does not exist: train the teacher '
            f'first (python tools/train.py {shown}) and set model.teacher_checkpoint to '
            f'its checkpoint')
    with default_scope(scope):
        teacher = MODELS.build(model_cfg)
    try:
        load_checkpoint(teacher, teacher_checkpoint, map_location='cpu', strict=True,
                        logger='current')
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InvalidValueError(
            f'teacher checkpoint {teacher_checkpoint!r} does not fit the teacher config '
            f'({first[1].strip() if len(first) > 1 else first[0] if first else exc}); '
            f'pass the checkpoint trained with that config') from None
    teacher.requires_grad_(False)
    return teacher.eval(), model_cfg


class BaseDistiller(BaseModel):
    """What both wrappers share: building, freezing, saving, predicting.

    Args:
        student (dict): the student's model config (a plain config's ``model``).
        teacher_config (str | dict): the teacher's config file (or config dict).
        teacher_checkpoint (str): the trained teacher's checkpoint.
        gt_weight (float): factor on the student's own (ground-truth) losses.
        data_preprocessor (dict, optional): the config's top-level
            ``data_preprocessor`` (the Runner passes it here): it is the student's,
            unless the student dict has its own. The wrapper's own preprocessor only
            moves the batch to the device; student and teacher normalise it each with
            their own.
    """

    def __init__(self, student, teacher_config, teacher_checkpoint, gt_weight=1.0,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=dict(type='BaseDataPreprocessor'),
                         init_cfg=init_cfg)
        from mmengine.registry import MODELS
        student = copy.deepcopy(dict(student))
        if isinstance(data_preprocessor, dict) and 'data_preprocessor' not in student:
            student['data_preprocessor'] = copy.deepcopy(dict(data_preprocessor))
        #: the plain student's model config, written into every checkpoint's meta
        self.student_cfg = student
        self.teacher_config = teacher_config if isinstance(teacher_config, str) else None
        self.teacher_checkpoint = teacher_checkpoint
        self.gt_weight = float(gt_weight)
        self.student = MODELS.build(student)
        teacher, self.teacher_model_cfg = build_teacher(teacher_config, teacher_checkpoint)
        # a list, not an attribute nn.Module registers: the teacher stays out of
        # state_dict(), parameters() (so out of the optimizer) and train()
        self._teacher = [teacher]
        self.register_state_dict_post_hook(_student_keys)
        self.register_load_state_dict_pre_hook(_wrapped_keys)

    @property
    def teacher(self):
        return self._teacher[0]

    def _teacher_on_device(self):
        """Move the (unregistered) teacher to the student's device if it is elsewhere:
        ``model.to(device)`` does not reach it."""
        device = next(self.student.parameters()).device
        if next(self.teacher.parameters()).device != device:
            self.teacher.to(device)

    def train(self, mode=True):
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """``mode='loss'``: the student's losses plus the distillation losses;
        ``'predict'`` / ``'tensor'``: the student alone, as the plain model."""
        data = dict(inputs=inputs, data_samples=data_samples)
        if mode == 'loss':
            self._teacher_on_device()
            student_data = self.student.data_preprocessor(data, True)
            with torch.no_grad():
                teacher_data = self.teacher.data_preprocessor(data, False)
            return self.distill_loss(student_data, teacher_data)
        data = self.student.data_preprocessor(data, False)
        return self.student(**data, mode=mode)

    def _gt_losses(self, losses):
        if self.gt_weight == 1.0:
            return dict(losses)
        return {k: ([x * self.gt_weight for x in v] if isinstance(v, (list, tuple)) else
                    v * self.gt_weight) if 'loss' in k else v for k, v in losses.items()}

    def distill_loss(self, student_data, teacher_data):
        raise NotImplementedError


def _student_keys(module, state_dict, prefix, local_metadata):
    """State-dict post hook: ``student.X`` -> ``X``; adapters and the wrapper's
    preprocessor dropped."""
    head = prefix + 'student.'
    for key in list(state_dict):
        if key.startswith(head):
            state_dict[prefix + key[len(head):]] = state_dict.pop(key)
        elif key.startswith(tuple(prefix + p for p in _NOT_SAVED)):
            del state_dict[key]


def _wrapped_keys(module, state_dict, prefix, local_metadata, strict, missing_keys,
                  unexpected_keys, error_msgs):
    """Load pre hook: a student's (or a saved wrapper's) ``X`` -> ``student.X``, so that
    resuming and ``load_from`` work with the checkpoints :func:`_student_keys` wrote."""
    keep = tuple(prefix + p for p in ('student.', *_NOT_SAVED))
    for key in list(state_dict):
        if key.startswith(prefix) and not key.startswith(keep):
            state_dict[prefix + 'student.' + key[len(prefix):]] = state_dict.pop(key)


@register_model()
class ClsDistiller(BaseDistiller):
    """Logits KD for mmpretrain classifiers (``ImageClassifier``)::

        loss = gt_weight * student's own loss
               + kd_weight * T**2 * KL(softmax(teacher / T) || softmax(student / T))

    Teacher and student may be of different families (a RegNetY teacher for a ReXNet
    student) and sizes; they must predict the same classes.
    """

    def __init__(self, student, teacher_config, teacher_checkpoint, kd_weight=1.0,
                 temperature=4.0, gt_weight=1.0, data_preprocessor=None, init_cfg=None):
        super().__init__(student, teacher_config, teacher_checkpoint, gt_weight,
                         data_preprocessor, init_cfg)
        self.kd_weight, self.temperature = float(kd_weight), float(temperature)

    def distill_loss(self, student_data, teacher_data):
        feats = self.student.extract_feat(student_data['inputs'])
        losses = self._gt_losses(self.student.head.loss(feats, student_data['data_samples']))
        student_logits = self.student.head(feats)
        with torch.no_grad():
            teacher_logits = self.teacher(teacher_data['inputs'], mode='tensor')
        if student_logits.shape != teacher_logits.shape:
            raise InvalidValueError(
                f'student and teacher predict {student_logits.shape[-1]} and '
                f'{teacher_logits.shape[-1]} classes: give both the same num_classes')
        losses['loss_kd'] = self.kd_weight * logits_kd(student_logits, teacher_logits,
                                                       self.temperature)
        return losses


def neck_channels(model_cfg):
    """The channels of each neck output, from a detector config's ``neck``: a list
    ``out_channels`` (SSD), or ``out_channels`` x ``num_outs`` (FPN); None if unknown."""
    neck = model_cfg.get('neck')
    neck = neck[-1] if isinstance(neck, (list, tuple)) and neck else neck
    if not isinstance(neck, dict):
        return None
    out = neck.get('out_channels')
    if isinstance(out, (list, tuple)):
        return [int(c) for c in out]
    if isinstance(out, int) and isinstance(neck.get('num_outs'), int):
        return [out] * neck['num_outs']
    return None


@register_model()
class DetDistiller(BaseDistiller):
    """Feature distillation for mmdet detectors with a neck (SSDLite, RetinaNet, ...):
    channel-wise distillation on the neck outputs, optionally plus logits KD on a
    single-stage head's classification outputs::

        loss = gt_weight * student's own losses
               + cwd_weight * mean over levels of CWD(adapter(student_l), teacher_l; tau)
               + logits_weight * KD(student cls logits, teacher cls logits; T)

    Args:
        cwd_weight (float): weight of the channel-wise loss (0 disables it).
        tau (float): CWD's spatial-softmax temperature.
        levels (list[int], optional): the neck outputs distilled (default all).
        logits_weight (float): weight of the per-anchor logits KD (0: off); needs
            a head with ``cls_out_channels`` (SSD-style softmax scores) and the
            same anchors in both models.
        temperature (float): the logits KD temperature.
    Where a level's channels differ, a 1x1 conv (``adapters``) maps the student's to
    the teacher's; it trains with the student and is not saved.
    """

    def __init__(self, student, teacher_config, teacher_checkpoint, cwd_weight=1.0, tau=1.0,
                 levels=None, logits_weight=0.0, temperature=1.0, gt_weight=1.0,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(student, teacher_config, teacher_checkpoint, gt_weight,
                         data_preprocessor, init_cfg)
        self.cwd_weight, self.tau = float(cwd_weight), float(tau)
        self.logits_weight, self.temperature = float(logits_weight), float(temperature)
        s_ch = neck_channels(self.student_cfg)
        t_ch = neck_channels(self.teacher_model_cfg)
        if s_ch is None or t_ch is None or len(s_ch) != len(t_ch):
            raise InvalidValueError(
                f'DetDistiller needs student and teacher necks with as many outputs and '
                f'known out_channels; got {s_ch} and {t_ch}')
        self.levels = list(range(len(s_ch))) if levels is None else [int(i) for i in levels]
        if not self.levels or any(not 0 <= i < len(s_ch) for i in self.levels):
            raise InvalidValueError(f'levels {levels} must name neck outputs 0..{len(s_ch) - 1}')
        self.adapters = nn.ModuleList(
            nn.Conv2d(s, t, 1) if s != t else nn.Identity() for s, t in zip(s_ch, t_ch))

    def _cls_logits(self, model, feats):
        head = model.bbox_head
        scores = head(feats)[0]
        k = head.cls_out_channels
        return torch.cat([s.permute(0, 2, 3, 1).reshape(-1, k) for s in scores])

    def distill_loss(self, student_data, teacher_data):
        feats = self.student.extract_feat(student_data['inputs'])
        losses = self._gt_losses(self.student.bbox_head.loss(feats,
                                                             student_data['data_samples']))
        with torch.no_grad():
            teacher_feats = self.teacher.extract_feat(teacher_data['inputs'])
        if self.cwd_weight:
            cwd = [channel_wise_divergence(self.adapters[i](feats[i]), teacher_feats[i],
                                           self.tau) for i in self.levels]
            losses['loss_cwd'] = self.cwd_weight * sum(cwd) / len(cwd)
        if self.logits_weight:
            student_logits = self._cls_logits(self.student, feats)
            with torch.no_grad():
                teacher_logits = self._cls_logits(self.teacher, teacher_feats)
            losses['loss_kd'] = self.logits_weight * logits_kd(
                student_logits, teacher_logits, self.temperature)
        return losses
