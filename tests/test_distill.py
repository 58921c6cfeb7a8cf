"""Knowledge distillation (rexnet_mm.distill, docs/distillation.md).

Independent references: the losses against hand computations (Python's ``math`` on the
definitions of Hinton's KD and Shu et al.'s channel-wise distillation); the wrapper
against the plain student model built from its own config (``strict=True`` loading,
equal predictions), mmengine's optimizer constructor and Runner, and the ONNX export
with its parity check against the eager plain student.
"""
import math
import os.path as osp

import pytest
import torch

import rexnet_mm  # noqa: F401
from rexnet_mm.distill import channel_wise_divergence, logits_kd
from rexnet_mm.errors import InvalidValueError, MissingFileError

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
KD = osp.join(ROOT, 'configs', 'distill', 'kd_regnety-1.6gf_to_rexnet-1.0_synthetic-birds.py')
CWD = osp.join(ROOT, 'configs', 'distill', 'cwd_ssdlite_rexnet-1.0_to_rexnet-0.5_shapes.py')
DET_STUDENT = osp.join(ROOT, 'configs', 'distill', 'ssdlite_rexnet-0.5_shapes.py')
DET_TEACHER = osp.join(ROOT, 'configs', 'detection', 'demo', 'ssdlite_rexnet_shapes.py')


def _softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / sum(e) for v in e]


def _kl(p, q):
    return sum(a * math.log(a / b) for a, b in zip(p, q))


# ----------------------------------------------------------------------------- losses
def test_logits_kd_is_zero_for_equal_logits_and_matches_hinton_otherwise():
    s = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    t = torch.tensor([[2.0, 0.0, 1.0], [1.0, 1.0, 1.5]])
    assert logits_kd(s, s.clone(), 4.0).item() == pytest.approx(0.0, abs=1e-7)
    T = 4.0
    expected = sum(_kl(_softmax([v / T for v in tr]), _softmax([v / T for v in sr]))
                   for sr, tr in zip(s.tolist(), t.tolist())) / 2 * T * T
    got = logits_kd(s, t, T).item()
    assert got > 0
    # float32 log-softmax against float64 math: 1e-5 of the value
    assert got == pytest.approx(expected, rel=1e-5)
    # the teacher gets no gradient, the student does
    s.requires_grad_(True)
    t.requires_grad_(True)
    logits_kd(s, t, T).backward()
    assert t.grad is None and s.grad.abs().sum() > 0


def test_channel_wise_divergence_matches_a_hand_computation():
    torch.manual_seed(0)
    s, t = torch.randn(2, 3, 2, 2), torch.randn(2, 3, 2, 2)
    tau = 2.0
    total = 0.0
    for n in range(2):
        for c in range(3):
            ps = _softmax([v / tau for v in s[n, c].flatten().tolist()])
            pt = _softmax([v / tau for v in t[n, c].flatten().tolist()])
            total += _kl(pt, ps)
    expected = total * tau * tau / (2 * 3)
    assert channel_wise_divergence(s, t, tau).item() == pytest.approx(expected, rel=1e-5)
    assert channel_wise_divergence(s, s.clone(), tau).item() == pytest.approx(0.0, abs=1e-7)
    # channels-last maps (the SSD neck's) give the same value
    cl = channel_wise_divergence(s.contiguous(memory_format=torch.channels_last),
                                 t.contiguous(memory_format=torch.channels_last), tau)
    assert cl.item() == pytest.approx(expected, rel=1e-5)


# ----------------------------------------------------------------------------- wrappers
def _random_checkpoint(model_cfg, path, scope):
    from mmengine.registry import MODELS

    from rexnet_mm.fixes import default_scope
    with default_scope(scope):
        model = MODELS.build(model_cfg)
    torch.save({'state_dict': model.state_dict()}, str(path))
    return str(path)


@pytest.fixture(scope='module')
def cls_pair(tmp_path_factory):
    """A ClsDistiller (RegNetY-200MF teacher, ReXNet-0.5 student, 4 classes) and its
    student's config."""
    from mmengine.registry import MODELS

    from rexnet_mm.fixes import default_scope
    from rexnet_mm.models.classifiers import regnet_classifier_cfg, rexnet_classifier_cfg
    tmp = tmp_path_factory.mktemp('kd')
    teacher_cfg = dict(model=regnet_classifier_cfg('regnety_200mf', num_classes=4),
                       default_scope='mmpretrain')
    ckpt = _random_checkpoint(teacher_cfg['model'], tmp / 'teacher.pth', 'mmpretrain')
    student = rexnet_classifier_cfg(0.5, num_classes=4)
    with default_scope('mmpretrain'):
        model = MODELS.build(dict(type='ClsDistiller', student=student,
                                  teacher_config=teacher_cfg, teacher_checkpoint=ckpt))
    return model, student, ckpt


def _cls_batch(n=4, size=64):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(0)
    return dict(inputs=[torch.randint(0, 256, (3, size, size), generator=g,
                                      dtype=torch.uint8) for _ in range(n)],
                data_samples=[DataSample().set_gt_label(i % 4) for i in range(n)])


def test_teacher_is_frozen_in_eval_mode_and_outside_optimizer_and_state_dict(cls_pair):
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS

    from rexnet_mm.fixes import default_scope
    model, student_cfg, _ = cls_pair
    model.train()
    assert model.student.training and not model.teacher.training
    assert not any(m.training for m in model.teacher.modules())
    assert not any(p.requires_grad for p in model.teacher.parameters())
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    in_optimizer = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert not in_optimizer & {id(p) for p in model.teacher.parameters()}
    assert in_optimizer == {id(p) for p in model.student.parameters()}
    with default_scope('mmpretrain'):
        plain = MODELS.build(student_cfg)
    state = model.state_dict()
    assert list(state) == list(plain.state_dict())
    plain.load_state_dict(state, strict=True)
    # the wrapper predicts as the plain student does
    model.eval()
    plain.eval()
    data = _cls_batch()
    ours = model.val_step(data)
    theirs = plain.val_step(data)
    for a, b in zip(ours, theirs):
        assert torch.equal(a.pred_score, b.pred_score)


def test_a_missing_teacher_checkpoint_says_how_to_get_one(cls_pair):
    from mmengine.registry import MODELS

    from rexnet_mm.fixes import default_scope
    model, student_cfg, _ = cls_pair
    with pytest.raises(MissingFileError, match='train the teacher first'):
        with default_scope('mmpretrain'):
            MODELS.build(dict(type='ClsDistiller', student=student_cfg,
                              teacher_config=KD, teacher_checkpoint='nowhere.pth'))


@pytest.mark.slow
def test_cwd_distillation_loss_decreases_and_adapters_are_not_saved(tmp_path):
    """A few SGD steps of DetDistiller (demo SSDLite ReXNet-1.0 teacher, ReXNet-0.5
    student) on one batch: the channel-wise loss falls; the state dict is the plain
    student's, adapters (72 -> 128 and others) left out."""
    from mmdet.structures import DetDataSample
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS
    from mmengine.structures import InstanceData

    from rexnet_mm.apis.build import load_any_config
    from rexnet_mm.fixes import default_scope
    teacher = Config.fromfile(DET_TEACHER)
    ckpt = _random_checkpoint(teacher.model, tmp_path / 'teacher.pth', 'mmdet')
    cfg = Config.fromfile(CWD)
    cfg.model.teacher_config, cfg.model.teacher_checkpoint = DET_TEACHER, ckpt
    torch.manual_seed(0)
    with default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        plain = MODELS.build(load_any_config(DET_STUDENT).model)
    assert isinstance(model.adapters[0], torch.nn.Conv2d)
    samples = []
    for i in range(2):
        s = DetDataSample(metainfo=dict(img_shape=(128, 128), ori_shape=(128, 128),
                                        scale_factor=(1.0, 1.0)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 20.0, 60.0, 70.0 + i]]),
                                      labels=torch.tensor([i]))
        samples.append(s)
    g = torch.Generator().manual_seed(1)
    data = dict(inputs=[torch.randint(0, 256, (3, 128, 128), generator=g,
                                      dtype=torch.uint8) for _ in range(2)],
                data_samples=samples)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=2e-3)))
    model.train()
    cwd = [model.train_step(data, wrapper)['loss_cwd'].item() for _ in range(12)]
    # one fixed batch: the student's maps move towards the teacher's
    assert cwd[-1] < 0.8 * cwd[0], cwd
    assert not model.teacher.training
    state = model.state_dict()
    assert not any(k.startswith(('adapters', 'student', 'teacher')) for k in state)
    assert set(state) == set(plain.state_dict())
    plain.load_state_dict(state, strict=True)


@pytest.mark.slow
def test_kd_config_trains_with_tools_train_and_deploys_as_the_plain_student(tmp_path):
    """tools/train.py on the shipped KD config (RegNetY-1.6GF teacher, ReXNet-1.0
    student, 2 images per class, one epoch): the checkpoint holds the student's keys
    alone, its meta the plain student config; it loads strictly into the plain student
    config's model and tools/deploy.py exports it (parity with eager checked there)."""
    from mmengine.config import Config

    from rexnet_mm.apis.build import load_any_config
    from rexnet_mm.fixes import default_scope
    from rexnet_mm.synthetic.finegrained import write_finegrained
    from rexnet_mm.tools.deploy import main as deploy
    from rexnet_mm.tools.train import main as train
    data = tmp_path / 'birds'
    write_finegrained(str(data), train_per_class=1, test_per_class=1)
    teacher_cfg = Config.fromfile(osp.join(ROOT, 'configs', 'finegrained',
                                           'regnety-1.6gf_synthetic-birds.py'))
    teacher_cfg.model.backbone.init_cfg = None
    teacher = _random_checkpoint(teacher_cfg.model, tmp_path / 'teacher.pth', 'mmpretrain')
    work = tmp_path / 'work'
    train([KD, '--work-dir', str(work), '--data-root', str(data), '--cfg-options',
           f'model.teacher_checkpoint={teacher}', 'model.student.backbone.init_cfg=None',
           'train_cfg.max_epochs=1', 'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
           'val_dataloader.persistent_workers=False'])
    ckpt_path = str(work / 'epoch_1.pth')
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)
    student_cfg = osp.join(ROOT, 'configs', 'finegrained', 'rexnet-1.0_synthetic-birds.py')
    from mmengine.registry import MODELS
    plain_cfg = load_any_config(student_cfg)
    plain_cfg.model.backbone.init_cfg = None
    with default_scope('mmpretrain'):
        plain = MODELS.build(dict(plain_cfg.model, data_preprocessor=plain_cfg.data_preprocessor))
    assert list(ckpt['state_dict']) == list(plain.state_dict())
    plain.load_state_dict(ckpt['state_dict'], strict=True)
    meta_cfg = Config.fromstring(ckpt['meta']['cfg'], '.py')
    assert meta_cfg.model.type == 'ImageClassifier' and 'Distiller' not in ckpt['meta']['cfg']
    assert ckpt['meta']['distillation']['teacher_checkpoint'] == teacher
    result = deploy([student_cfg, ckpt_path, '--out', str(tmp_path / 'student.onnx'),
                     '--shape', '64', '64'])
    assert result['ok'] and result['kind'] == 'classifier'


# ----------------------------------------------------------------------------- study
def test_study_table_keeps_only_the_runs_of_the_current_options():
    # results.json keeps every seed's last run; a table must not mix seeds trained with
    # an earlier learning rate with the current ones, and both arms carry the student's
    # optimiser options (same lr for alone and distilled)
    from rexnet_mm.analysis.distill_study import _signature, current, study_options
    opts = study_options('cls')
    old = study_options('cls', {'student_lr': '0.01', 'student_head_lr_mult': '10'})
    assert old['student_lr'] == 0.01 and old['student_head_lr_mult'] == 10.0
    for kind in ('alone', 'distilled'):
        assert {'student_lr', 'student_head_lr_mult'} <= set(_signature('cls', kind, opts))
    results = {'teacher': {'metric': 90.0, 'options': _signature('cls', 'teacher', opts)}}
    for kind in ('alone', 'distilled'):
        results[kind] = {'0': {'metric': 1.0, 'options': _signature('cls', kind, opts)},
                         '1': {'metric': 2.0, 'options': _signature('cls', kind, old)}}
    now = current(results, 'cls', opts)
    assert now['teacher'] is results['teacher']  # the teacher's options did not change
    assert {k: sorted(v) for k, v in now.items() if k != 'teacher'} == {
        'alone': ['0'], 'distilled': ['0']}
    assert sorted(current(results, 'cls', old)['alone']) == ['1']
    with pytest.raises(InvalidValueError, match='not an option'):
        study_options('cls', {'lr': '0.1'})


def test_study_pieces_side_by_side_keep_each_others_runs(tmp_path, monkeypatch):
    # two processes (one per seed) share results.json: each save re-reads the file under
    # a lock and adds its own run, so a run another process saved meanwhile survives
    import json
    from rexnet_mm.analysis import distill_study as study
    opts = study.study_options('cls')
    path = tmp_path / 'cls' / 'results.json'
    path.parent.mkdir()
    teacher = dict(metric=90.0, options=study._signature('cls', 'teacher', opts))
    path.write_text(json.dumps({'teacher': teacher}))

    def fake_run(setting, kind, seed, opts_, data, work_dir, teacher_=None):
        # what the other process saves while this one trains
        other = json.loads(path.read_text())
        other.setdefault(kind, {})['7'] = dict(
            metric=7.0, options=study._signature('cls', kind, opts_))
        path.write_text(json.dumps(other))
        return dict(metric=float(seed))

    monkeypatch.setattr(study, 'run_config', fake_run)
    monkeypatch.setattr(study, 'prepare_data', lambda *a: {})
    study.run_study('cls', str(tmp_path), seeds=(0,), runs=('alone', 'distilled'))
    saved = json.loads(path.read_text())
    assert saved['teacher'] == teacher
    assert {k: sorted(saved[k]) for k in ('alone', 'distilled')} == {
        'alone': ['0', '7'], 'distilled': ['0', '7']}
