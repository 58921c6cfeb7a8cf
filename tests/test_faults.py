"""Fault injection: what a user hits when things go wrong, and what is kept.

Every case runs on local temp dirs, bounded in time; docs/faults.md has the table
(fault -> what the user sees -> what is kept). Independent references: an
uninterrupted training run (the killed-and-resumed runs must end with its weights,
optimizer and scheduler state), torch's own loader on every checkpoint left behind,
and the files' bytes before and after.
"""
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
from importlib import import_module

import pytest
import torch

import rexnet_mm  # noqa: F401
from rexnet_mm.analysis.parity import PARITY_RTOL, rel_diff
from rexnet_mm.analysis.plots import plot_loss_curve, read_scalars
from rexnet_mm.synthetic.shapes_coco import generate

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'detection', 'demo', 'ssdlite_rexnet_shapes.py')
PY = sys.executable

pytestmark = pytest.mark.usefixtures('fast_config_dump')


KILL_HOOK = '''
import os
import signal

from mmengine.hooks import Hook
from mmdet.registry import HOOKS


def _die(*args):
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module(force=True)
class KillSwitch(Hook):
    """SIGKILL this process: after iteration $KILL_AT_ITER (only rank $KILL_RANK, if
    set), or while the checkpoint of epoch $KILL_IN_SAVE is being written (inside the
    fsync of its file)."""
    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        # under torchrun, only the process of rank $KILL_RANK (if set)
        rank_ok = os.environ.get('KILL_RANK', os.environ.get('RANK')) == os.environ.get('RANK')
        if os.environ.get('KILL_AT_ITER') == str(runner.iter + 1) and rank_ok:
            _die()

    def before_save_checkpoint(self, runner, checkpoint):
        if os.environ.get('KILL_IN_SAVE') == str(runner.epoch + 1):
            os.fsync = _die


@HOOKS.register_module(force=True)
class EvalBN(Hook):
    """With $EVAL_BN=1: every BN layer in eval mode while training (normalising with
    its running statistics, not the batch's), so the computation of an image does not
    depend on which other images share its process."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        from torch.nn.modules.batchnorm import _BatchNorm
        if os.environ.get('EVAL_BN') == '1':
            for m in runner.model.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
'''


TINY_CFG = '''
_base_ = {demo!r}
custom_imports = dict(imports=['rexnet_mm', 'killhook'], allow_failed_imports=False)
data_root = {data!r}
randomness = dict(seed=0)
# deterministic pipeline: the uninterrupted and the resumed run see the same pixels
pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, pipeline=pipeline))
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=3, val_begin=100)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(type='CosineAnnealingLR', begin=0, T_max=3, end=3, by_epoch=True, eta_min=0)
]
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='KillSwitch'), dict(type='EvalBN')]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=-1))
'''


@pytest.fixture(scope='module')
def tiny_cfg(tmp_path_factory):
    """The demo config on 4 train images of 64 px: 2 iterations per epoch."""
    tmp = tmp_path_factory.mktemp('tiny')
    data = str(tmp / 'data')
    generate(data, num_train=4, num_val=2, size=64, seed=1)
    (tmp / 'killhook.py').write_text(KILL_HOOK)
    cfg = tmp / 'tiny_ssdlite.py'
    cfg.write_text(TINY_CFG.format(demo=DEMO, data=data + '/'))
    return str(cfg)


def _env(cfg, **extra):
    """Environment of a tool subprocess: the kill hook importable, nothing inherited
    that could kill it by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('KILL_', 'EVAL_BN'))}
    env['PYTHONPATH'] = os.pathsep.join(
        [osp.dirname(cfg), ROOT] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    env.update(extra)
    return env


def _lrs(work_dir):
    """{iteration: lr} logged by the newest run in ``work_dir``."""
    from rexnet_mm.analysis.plots import find_scalars
    train, _ = read_scalars(find_scalars(work_dir))
    return dict(zip(train['lr'][0].tolist(), train['lr'][1].tolist()))


@pytest.fixture(scope='module')
def reference(tiny_cfg):
    """The uninterrupted run (3 epochs, a checkpoint per epoch): its work dir."""
    work = osp.join(osp.dirname(tiny_cfg), 'reference')
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(osp.dirname(tiny_cfg))  # the kill hook module
        runner = import_module('rexnet_mm.tools.train').main([tiny_cfg, '--work-dir', work])
    assert (runner.epoch, runner.iter) == (3, 6)
    return work


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def _same(x, y):
    """The same computation resumed from a checkpoint: equal up to float32 rounding
    relative to the tensor's scale; integer (BN counters) and all-zero tensors exactly."""
    if y.is_floating_point() and y.abs().max() > 0:
        return rel_diff(x, y) <= PARITY_RTOL
    return torch.equal(x, y)


def _assert_same_final_state(work, reference, optimizer=True):
    a, b = _load(osp.join(work, 'epoch_3.pth')), _load(osp.join(reference, 'epoch_3.pth'))
    assert a['meta']['iter'] == b['meta']['iter'] == 6
    assert a['param_schedulers'] == b['param_schedulers']
    for k, v in b['state_dict'].items():
        assert _same(a['state_dict'][k], v), k
    if not optimizer:
        return
    buf_a, buf_b = a['optimizer']['state'], b['optimizer']['state']
    assert buf_a.keys() == buf_b.keys() and len(buf_a) > 100
    for k in buf_b:  # every optimizer state tensor (AdamW: exp_avg, exp_avg_sq, step)
        assert buf_a[k].keys() == buf_b[k].keys() and 'exp_avg' in buf_b[k], k
        for name, v in buf_b[k].items():
            assert _same(buf_a[k][name], v), (k, name)


def _train_subprocess(cfg, work, *extra, **env):
    return subprocess.run([PY, osp.join(ROOT, 'tools', 'train.py'), cfg, '--work-dir', work,
                           *extra], env=_env(cfg, **env), capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_killed_mid_epoch_resumes_to_the_same_weights(tiny_cfg, reference, tmp_path,
                                                       monkeypatch):
    """SIGKILL after iteration 3 (the first of epoch 2; last checkpoint: epoch 1), then
    ``--resume``: the run continues at iteration 3 and ends with the uninterrupted run's
    weights, optimizer and scheduler state, and logs the same learning rates."""
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    train = import_module('rexnet_mm.tools.train')
    killed = str(tmp_path / 'killed')
    proc = _train_subprocess(tiny_cfg, killed, KILL_AT_ITER='3')
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert sorted(f for f in os.listdir(killed) if f.endswith('.pth')) == ['epoch_1.pth']
    saved = _load(osp.join(killed, 'epoch_1.pth'))
    assert saved['meta']['epoch'] == 1 and saved['meta']['iter'] == 2

    resumed = train.main([tiny_cfg, '--work-dir', killed, '--resume'])
    assert (resumed.epoch, resumed.iter) == (3, 6)
    lrs_resumed = _lrs(killed)
    assert min(lrs_resumed) == 3  # the resumed run starts at iteration 3 (epoch 2)
    lrs_ref = _lrs(reference)
    assert lrs_ref[3] != lrs_ref[1]  # the schedule moves, so a reset would show
    for it in (3, 4, 5, 6):
        assert lrs_resumed[it] == pytest.approx(lrs_ref[it], rel=1e-9), it
    _assert_same_final_state(killed, reference)

    # the loss curve figure of a real run
    png = plot_loss_curve(reference, str(tmp_path / 'loss.png'))
    assert osp.getsize(png) > 5000


@pytest.mark.slow
def test_kill_while_writing_a_checkpoint_keeps_the_last_one(tiny_cfg, reference, tmp_path,
                                                            monkeypatch):
    """SIGKILL inside the write of epoch 2's checkpoint, with max_keep_ckpts=1. Unfixed,
    mmengine deletes epoch_1.pth before writing epoch_2.pth in place: nothing to resume
    from. Now epoch_2.pth never appears half-written, epoch_1.pth (where last_checkpoint
    points) is kept until its successor is complete, and --resume ends where the
    uninterrupted run ends."""
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    work = str(tmp_path / 'work')
    keep = ['--cfg-options', 'default_hooks.checkpoint.max_keep_ckpts=1']
    proc = _train_subprocess(tiny_cfg, work, *keep, KILL_IN_SAVE='2')
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert sorted(f for f in os.listdir(work) if f.endswith('.pth')) == ['epoch_1.pth']
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work, 'epoch_1.pth')
    assert _load(osp.join(work, 'epoch_1.pth'))['meta']['iter'] == 2
    resumed = import_module('rexnet_mm.tools.train').main(
        [tiny_cfg, '--work-dir', work, '--resume', *keep])
    assert (resumed.epoch, resumed.iter) == (3, 6)
    assert sorted(f for f in os.listdir(work) if f.endswith('.pth')) == ['epoch_3.pth']
    _assert_same_final_state(work, reference)


@pytest.mark.slow
def test_resume_skips_a_checkpoint_that_does_not_load(tiny_cfg, reference, tmp_path,
                                                      monkeypatch, capsys):
    """last_checkpoint names a truncated epoch_3.pth: --resume says so in one line,
    resumes from epoch_2.pth and recomputes epoch 3 to the same weights."""
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    work = tmp_path / 'work'
    shutil.copytree(reference, work)  # mtimes kept: epoch_3 is the newest
    data = (work / 'epoch_3.pth').read_bytes()
    (work / 'epoch_3.pth').write_bytes(data[:len(data) // 2])
    (work / 'last_checkpoint').write_text(str(work / 'epoch_3.pth'))
    train = import_module('rexnet_mm.tools.train')
    runner = train.main([tiny_cfg, '--work-dir', str(work), '--resume'])
    notes = [line for line in capsys.readouterr().err.splitlines() if 'skipped' in line]
    assert len(notes) == 1 and 'epoch_3.pth' in notes[0], notes
    assert (runner.epoch, runner.iter) == (3, 6)
    _assert_same_final_state(str(work), reference)


def test_resume_without_a_loadable_checkpoint_is_one_line(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    train = import_module('rexnet_mm.tools.train')
    with pytest.raises(SystemExit) as exc:
        train.main([tiny_cfg, '--work-dir', str(tmp_path / 'empty'), '--resume'])
    assert 'no checkpoint that loads' in str(exc.value) and '\n' not in str(exc.value)
    junk = tmp_path / 'junk.pth'
    junk.write_bytes(b'PK\x03\x04 not really a zip')
    with pytest.raises(SystemExit) as exc:
        train.main([tiny_cfg, '--work-dir', str(tmp_path / 'w'), '--resume', str(junk)])
    assert 'cannot be loaded' in str(exc.value) and '\n' not in str(exc.value)


@pytest.mark.slow
def test_work_dir_of_another_config_is_refused(tiny_cfg, reference, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    work = tmp_path / 'work'
    shutil.copytree(reference, work)
    before = {p.name: p.read_bytes() for p in work.glob('*.pth')}
    other = tmp_path / 'other_config.py'
    other.write_text(f'_base_ = {tiny_cfg!r}\n')
    with pytest.raises(SystemExit) as exc:
        import_module('rexnet_mm.tools.train').main([str(other), '--work-dir', str(work)])
    assert 'another config (tiny_ssdlite.py)' in str(exc.value), exc.value
    assert {p.name: p.read_bytes() for p in work.glob('*.pth')} == before


def test_atomic_write_leaves_the_old_file_or_the_new_one(tmp_path, monkeypatch):
    """Every local write of mmengine's file backend (checkpoints) dies before the
    rename: the destination keeps its old bytes and no partial file is left."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    dst = tmp_path / 'epoch_1.pth'
    dst.write_bytes(b'old')

    def die(fd):
        raise KeyboardInterrupt  # the process stops after writing, before the rename

    monkeypatch.setattr(os, 'fsync', die)
    with pytest.raises(KeyboardInterrupt):
        LocalBackend().put(b'new' * 1000, str(dst))
    assert dst.read_bytes() == b'old' and os.listdir(tmp_path) == ['epoch_1.pth']
    monkeypatch.undo()
    LocalBackend().put(b'new', str(dst))
    assert dst.read_bytes() == b'new'


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


#: What both runs of the equivalence test change in the tiny config: SGD (AdamW's first
#: steps are sign(grad)-like and would turn float rounding of near-zero gradients into
#: full-size steps), 2 epochs of 2 iterations (4 images: 1 per process or 2 in one; one
#: image a process, as the images have 1-4 positive anchors each, makes every
#: iteration's processes differ in positives, which is what the loss normalises by).
EQUIVALENCE_OPTIONS = ['train_cfg.max_epochs=2', 'optim_wrapper.optimizer.type=SGD',
                       'optim_wrapper.optimizer.lr=0.05', 'optim_wrapper.optimizer.momentum=0.9',
                       'optim_wrapper.optimizer.weight_decay=0']
#: Tolerance on the weights after training, per tensor: EQUIVALENCE_RTOL of the
#: update's scale (max |final - initial|) plus EQUIVALENCE_ULPS float32 steps of the
#: weights' scale. Both runs add the same per-image gradients; only the order of the
#: float32 additions differs (gloo's all-reduce of 2 half-batch gradients vs one batch),
#: which moves the update by a few eps = 1.2e-7 of its size; storing each step's weights
#: in float32 then rounds either way, one ulp per step (2 steps; 4 allowed). Measured
#: (largest fraction of this tolerance used) in the test's printout; a weighting of the
#: images that differs, as mmdet's per-process SSD loss normalisation does, moves the
#: updates by 10-100% and fails it.
EQUIVALENCE_RTOL = 1e-3
EQUIVALENCE_ULPS = 4
EPS32 = torch.finfo(torch.float32).eps


@pytest.mark.slow
def test_torchrun_two_processes_equal_one_process(tiny_cfg, reference, tmp_path,
                                                   monkeypatch):
    """tools/dist_train.sh (torchrun, 2 gloo processes, 1 image each) ends with the
    weights that one process with 2 images per iteration reaches, from the same start,
    after 4 iterations; tools/dist_test.sh then tests the result.

    Plain BN normalises over each process's own images (mmdet's BN in our detection
    configs does too; SyncBN would share the statistics, but torch's SyncBatchNorm
    runs on GPUs only): the comparison holds BN in eval mode, as norm_eval does for our
    Faster/Mask R-CNN backbones, and checks everything else a distributed run changes:
    the sampler's split, DDP's gradient averaging and the loss normalisation."""
    # start both from the uninterrupted run's weights: trained BN statistics (random
    # ones in eval mode leave the backbone's gradients at 1e-12 of their scale)
    start = osp.join(reference, 'epoch_3.pth')
    init = _load(start)['state_dict']
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))  # the hooks module
    options = EQUIVALENCE_OPTIONS + [f'load_from={start}']

    work = str(tmp_path / 'dist')
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), tiny_cfg, '2',
           '--work-dir', work, '--cfg-options', 'train_dataloader.batch_size=1', *options]
    proc = subprocess.run(cmd, env=_env(tiny_cfg, PYTHON=PY, PORT=str(_free_port()),
                                        OMP_NUM_THREADS='1', EVAL_BN='1'),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    log = open(next(osp.join(r, f) for r, _, fs in os.walk(work) for f in fs
                    if f.endswith('.log'))).read()
    assert 'Distributed training: True' in log and "dist_cfg: {'backend': 'gloo'}" in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    # 4 images, 1 per process and iteration: 2 iterations per epoch
    assert 'Epoch(train) [2][2/2]' in log and '[1][4/4]' not in log

    single = str(tmp_path / 'single')
    monkeypatch.setenv('EVAL_BN', '1')
    import_module('rexnet_mm.tools.train').main(
        [tiny_cfg, '--work-dir', single, '--cfg-options', 'train_dataloader.batch_size=2',
         *options])
    dist, one = (_load(osp.join(w, 'epoch_2.pth'))['state_dict'] for w in (work, single))
    ratios, moved = {}, 0
    for k, w in init.items():
        if not w.is_floating_point() or 'running_' in k:
            continue  # BN statistics: unchanged in eval mode
        update = (one[k] - w).abs().max().item()
        moved += update > 0
        allowed = EQUIVALENCE_RTOL * update + EQUIVALENCE_ULPS * EPS32 * one[k].abs().max()
        diff = (dist[k] - one[k]).abs().max().item()
        ratios[k] = diff / allowed.item() if diff else 0.0  # all-zero tensors stay equal
    worst = max(ratios, key=ratios.get)
    print(f'2 processes x 1 image vs 1 x 2: {moved} of {len(ratios)} tensors updated; '
          f'largest difference {ratios[worst]:.3f} of the tolerance ({worst})')
    assert moved > len(ratios) // 2, 'the weights hardly moved: a weak comparison'
    assert ratios[worst] <= 1, (worst, ratios[worst])

    # tools/dist_test.sh evaluates that checkpoint on the same 2 processes
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_test.sh'), tiny_cfg,
           osp.join(work, 'epoch_2.pth'), '2', '--work-dir', work]
    proc = subprocess.run(cmd, env=_env(tiny_cfg, PYTHON=PY, PORT=str(_free_port()),
                                        OMP_NUM_THREADS='1'),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- CLI behaviour

def test_train_cli_errors_are_one_line(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    train = import_module('rexnet_mm.tools.train')
    with pytest.raises(SystemExit, match='--amp needs a CUDA GPU'):
        train.main([tiny_cfg, '--amp', '--work-dir', str(tmp_path / 'a')])
    with pytest.raises(SystemExit, match=r"annotation file .*nowhere.* not found"):
        train.main([tiny_cfg, '--work-dir', str(tmp_path / 'b'), '--cfg-options',
                    'train_dataloader.dataset.data_root=/nowhere/'])
    no_scope = tmp_path / 'plain.py'
    no_scope.write_text('model = dict(type="Foo")\n')
    with pytest.raises(SystemExit, match='default_scope'):
        train.main([str(no_scope)])
    with pytest.raises(SystemExit, match='does not exist'):
        train.main([tiny_cfg, '--resume', str(tmp_path / 'missing.pth')])




# --------------------------------------------------------------------------- bad data, bad configs

def _one_line_exit(argv):
    """tools/train.py's exit message for ``argv`` (it must stop before training)."""
    with pytest.raises(SystemExit) as exc:
        import_module('rexnet_mm.tools.train').main(argv)
    msg = str(exc.value.code)
    assert msg.startswith('error: ') and '\n' not in msg, msg
    return msg


@pytest.fixture
def coco_copy(tiny_cfg, tmp_path, monkeypatch):
    """A copy of the tiny config's data to break, and the options pointing at it."""
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    data = tmp_path / 'data'
    shutil.copytree(osp.join(osp.dirname(tiny_cfg), 'data'), data)
    opts = ['--work-dir', str(tmp_path / 'wd'), '--cfg-options']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.append(f'{loader}.dataset.data_root={data}/')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        opts.append(f'{evaluator}.ann_file={data}/annotations/instances_val.json')
    return data, [tiny_cfg] + opts


def test_truncated_coco_json_is_one_line(coco_copy):
    data, argv = coco_copy
    ann = data / 'annotations' / 'instances_train.json'
    ann.write_text(ann.read_text()[:200])
    msg = _one_line_exit(argv)
    assert 'instances_train.json' in msg and 'not valid JSON' in msg, msg
    assert not (data.parent / 'wd').exists() or not list((data.parent / 'wd').rglob('*.pth'))


def test_missing_image_is_one_line(coco_copy):
    data, argv = coco_copy
    first = json.loads((data / 'annotations' / 'instances_train.json').read_text())['images'][0]
    os.remove(data / 'train' / first['file_name'])
    msg = _one_line_exit(argv)
    assert '1 of 4 images' in msg and first['file_name'] in msg and 'data_prefix.img' in msg


def test_unknown_categories_warn_and_an_emptied_set_stops(coco_copy, capsys):
    """Annotations of a category outside the config's classes: one warning with the
    count (mmdet drops them); no class left at all: the training set would be empty."""
    from mmengine.config import Config
    from rexnet_mm.apis.checks import check_coco
    data, argv = coco_copy
    path = data / 'annotations' / 'instances_train.json'
    coco = json.loads(path.read_text())
    coco['categories'].append(dict(id=99, name='unicorn', supercategory='shape'))
    coco['annotations'][0]['category_id'] = 99
    path.write_text(json.dumps(coco))
    cfg = Config.fromfile(argv[0])
    cfg.train_dataloader.dataset.data_root = f'{data}/'
    warnings = []
    check_coco(cfg, ('train_dataloader', ), warn=warnings.append)
    assert len(warnings) == 1 and f'1 of {len(coco["annotations"])} annotations' in \
        warnings[0] and '[99]' in warnings[0], warnings
    msg = _one_line_exit(argv + ["train_dataloader.dataset.metainfo.classes=('unicorn2',)"])
    assert 'would be empty' in msg, msg


def test_neck_channels_that_do_not_match_the_backbone_are_one_line(tiny_cfg, tmp_path,
                                                                  monkeypatch):
    """Unchecked, this fails inside the first conv of the neck with a shape error."""
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    msg = _one_line_exit([tiny_cfg, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                          'model.neck.in_channels=[128,1024]'])
    assert 'model.neck.in_channels is [128, 1024]' in msg and 'gives [128, 1280]' in msg, msg


def test_segmentation_labels_out_of_range_are_one_line(tmp_path):
    """A label PNG with a value >= num_classes that is not the ignore index (255):
    unchecked, the loss fails mid-training with a CUDA/CPU index error."""
    import numpy as np
    from PIL import Image
    from rexnet_mm.synthetic.shapes_seg import generate as generate_seg
    data = tmp_path / 'seg'
    generate_seg(str(data), num_train=3, num_val=1, size=64, seed=0)
    bad = data / 'ann_dir' / 'train' / '000001.png'
    labels = np.asarray(Image.open(bad)).copy()
    labels[:4, :4] = 7  # 5 classes
    Image.fromarray(labels).save(bad)
    demo = osp.join(ROOT, 'configs', 'segmentation', 'demo', 'fpn_rexnet-1.0_shapes.py')
    opts = [f'{loader}.dataset.data_root={data}/' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    msg = _one_line_exit([demo, '--work-dir', str(tmp_path / 'wd'), '--cfg-options', *opts])
    assert '000001.png' in msg and '[7]' in msg and 'num_classes=5' in msg, msg


@pytest.mark.parametrize('option,expected', [
    ('model.backbone.arch=v9', "unknown ReXNet arch 'v9'"),
    ('model.backbone.out_indices=(4,17)', 'out_indices (4, 17)'),
    ('model.backbone.frozen_stages=9', 'frozen_stages must be in -1..'),
])
def test_bad_backbone_arguments_are_one_line(option, expected, tiny_cfg, tmp_path,
                                             monkeypatch):
    monkeypatch.syspath_prepend(osp.dirname(tiny_cfg))
    msg = _one_line_exit([tiny_cfg, '--work-dir', str(tmp_path / 'wd'), '--cfg-options',
                          option])
    assert 'model.backbone (ReXNet) cannot be built' in msg and expected in msg, msg


@pytest.mark.slow
def test_corrupt_image_stops_in_one_line_naming_it(coco_copy):
    """An undecodable image is met only when the data loader reads it (decoding every
    image up front would cost minutes on COCO): the run stops there in one line that
    names the file; nothing was written but the work dir's logs."""
    data, argv = coco_copy
    first = json.loads((data / 'annotations' / 'instances_train.json').read_text())['images'][0]
    (data / 'train' / first['file_name']).write_bytes(b'not a jpeg')
    msg = _one_line_exit(argv)
    assert f"cannot decode image {data / 'train' / first['file_name']}" in msg, msg
    assert not list((data.parent / 'wd').rglob('*.pth'))


@pytest.mark.slow
def test_a_killed_worker_ends_the_whole_distributed_job(tiny_cfg, tmp_path):
    """Rank 1 SIGKILLed after its first iteration: rank 0 would wait in the next gradient
    all-reduce forever; torchrun's agent sees the dead worker, stops the other and exits
    non-zero naming the failed rank, well within the bound."""
    import time
    work = str(tmp_path / 'dist')
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), tiny_cfg, '2',
           '--work-dir', work, '--cfg-options', 'train_cfg.max_epochs=2']
    start = time.monotonic()
    proc = subprocess.run(cmd, env=_env(tiny_cfg, PYTHON=PY, PORT=str(_free_port()),
                                        OMP_NUM_THREADS='1', KILL_AT_ITER='1',
                                        KILL_RANK='1'),
                          capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - start
    out = proc.stdout + proc.stderr
    print(f'killed worker: exit status {proc.returncode} after {elapsed:.0f} s')
    assert proc.returncode != 0, out[-3000:]
    assert 'ChildFailedError' in out and 'Signal 9 (SIGKILL)' in out, out[-3000:]
    assert not osp.isfile(osp.join(work, 'epoch_2.pth'))


@pytest.mark.parametrize('name,files', [
    # Cityscapes: only *_labelTrainIds.png are labels (labelIds, with ids up to 33, sit
    # next to them); ADE20K: reduce_zero_label, raw 0 = ignore and 1..150 the classes
    ('sem_fpn/fpn_rexnet-1.0_4xb2-80k_cityscapes-512x1024.py',
     {'a_gtFine_labelTrainIds.png': (0, 18, 255), 'a_gtFine_labelIds.png': (0, 33),
      'b_gtFine_labelTrainIds.png': (19, )}),
    ('deeplabv3plus/deeplabv3plus_rexnet-1.0-d8_4xb4-160k_ade20k-512x512.py',
     {'a.png': (0, 1, 150, 255), 'b.png': (151, )}),
])
def test_label_check_follows_the_dataset_classes_defaults(name, files, tmp_path):
    """The shipped Cityscapes and ADE20K configs leave the label suffix and
    reduce_zero_label to mmseg's dataset classes: real label folders pass, and only the
    file with a value out of range (b) is reported."""
    import numpy as np
    from mmengine.config import Config
    from PIL import Image
    from rexnet_mm.apis.checks import check_seg_labels
    from rexnet_mm.apis.config import ConfigError
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'segmentation', name))
    ds = cfg.train_dataloader.dataset
    ds.data_root = str(tmp_path) + '/'
    folder = tmp_path / ds.data_prefix.seg_map_path
    folder.mkdir(parents=True)
    for file, values in files.items():
        labels = np.zeros((4, 4), np.uint8)
        labels.flat[:len(values)] = values
        Image.fromarray(labels).save(folder / file)
    with pytest.raises(ConfigError) as exc:
        check_seg_labels(cfg, ('train_dataloader', ))
    bad = [f for f in files if f.startswith('b')][0]
    assert bad in str(exc.value), exc.value
    os.remove(folder / bad)
    check_seg_labels(cfg, ('train_dataloader', ))  # the real layout passes


def test_sync_bn_under_cpu_torchrun_is_one_line_naming_the_options(monkeypatch):
    """Our segmentation configs use SyncBN (mmseg's recipes), which torch synchronises
    on GPUs only: a CPU torchrun job stops before training in one line whose options,
    applied, leave no SyncBN (and the error goes)."""
    import shlex

    from rexnet_mm.apis.config import ConfigError, load_config
    from rexnet_mm.apis.dist import setup_cpu_distributed, sync_bn_keys
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    name = osp.join(ROOT, 'configs', 'segmentation', 'deeplabv3plus',
                    'deeplabv3plus_rexnet-1.0-d8_4xb4-160k_ade20k-512x512.py')
    cfg = load_config(name, launcher='pytorch')
    assert len(list(sync_bn_keys(cfg.model))) >= 3  # backbone, decode and auxiliary heads
    with pytest.raises(ConfigError) as err:
        setup_cpu_distributed(cfg)
    message = str(err.value)
    assert '\n' not in message and 'SyncBN' in message, message
    options = shlex.split(message.split('--cfg-options ')[1].split(' (')[0])
    cfg = load_config(name, dict(o.split('=', 1) for o in options), launcher='pytorch')
    assert not list(sync_bn_keys(cfg.model))
    monkeypatch.setattr(torch.distributed, 'is_initialized', lambda: True)
    assert setup_cpu_distributed(cfg) is True  # no SyncBN left: goes on to gloo
