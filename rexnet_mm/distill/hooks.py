"""``StudentConfigHook``: the saved checkpoint of a distillation run describes the plain
student, so that tools/test.py, tools/deploy.py and ``load_from`` treat it as one."""
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class StudentConfigHook(Hook):
    """Before a checkpoint is saved: ``meta['cfg']`` becomes the run's config with
    ``model`` replaced by the student's (this hook dropped from ``custom_hooks``), and
    ``meta['distillation']`` records the teacher and the full distillation config."""
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint):
        import copy
        model = getattr(runner.model, 'module', runner.model)
        student_cfg = getattr(model, 'student_cfg', None)
        if student_cfg is None:  # not a distiller: nothing to rewrite
            return
        meta = checkpoint.setdefault('meta', {})
        cfg = copy.deepcopy(runner.cfg)
        distill_text = cfg.pretty_text
        cfg.model = copy.deepcopy(student_cfg)
        hooks = [h for h in cfg.get('custom_hooks', []) or []
                 if not (isinstance(h, dict) and h.get('type') == type(self).__name__)]
        cfg.custom_hooks = hooks
        meta['cfg'] = cfg.pretty_text
        meta['distillation'] = dict(teacher_config=model.teacher_config,
                                    teacher_checkpoint=model.teacher_checkpoint,
                                    cfg=distill_text)
