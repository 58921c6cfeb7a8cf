"""``StudentConfigHook``: the saved checkpoint of a distillation run describes the plain
student, so that tools/test.py, tools/deploy.py and ``load_from`` treat it as one."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def student_config(cfg, student=None):
    """A distillation config as its plain student's: a copy of ``cfg`` whose ``model`` is
    ``student`` (default: the wrapper's ``model.student``), with
    :class:`StudentConfigHook` dropped from ``custom_hooks``. The caller's ``cfg`` is not
    changed."""
    import copy
    cfg = copy.deepcopy(cfg)
    cfg.model = copy.deepcopy(cfg.model.student if student is None else student)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) or []
                        if not (isinstance(h, dict) and
                                h.get('type') == StudentConfigHook.__name__)]
    return cfg


@HOOKS.register_module()
class StudentConfigHook(Hook):
    """Before a checkpoint is saved: ``meta['cfg']`` becomes the run's config with
    ``model`` replaced by the student's (this hook dropped from ``custom_hooks``,
    :func:`student_config`), and ``meta['distillation']`` records the teacher and the
    full distillation config."""
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint):
        model = getattr(runner.model, 'module', runner.model)
        student_cfg = getattr(model, 'student_cfg', None)
        if student_cfg is None:  # not a distiller: nothing to rewrite
            return
        meta = checkpoint.setdefault('meta', {})
        meta['cfg'] = student_config(runner.cfg, student_cfg).pretty_text
        meta['distillation'] = dict(teacher_config=model.teacher_config,
                                    teacher_checkpoint=model.teacher_checkpoint,
                                    cfg=runner.cfg.pretty_text)
