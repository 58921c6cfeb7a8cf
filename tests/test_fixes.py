"""The upstream patches of rexnet_mm/fixes/ are pinned to the code they were written for.

Each :class:`rexnet_mm.fixes.guard.Fix` names its upstream version range and a sha256 of
the source of every upstream function it patches or relies on. ``test_pin_<fix>`` fails,
named after the fix, as soon as an upgrade changes one of them: re-read the patch against
the new code, then update the pin (``rexnet_mm.fixes.guard.source_sha256``) and the range.
The guard tests show that a changed pin or range warns and leaves upstream alone, and
that with the real pins the same call patches it.
"""
import collections
import inspect
import re
import warnings

import pytest
import torch

from rexnet_mm import fixes
from rexnet_mm.fixes import (atomic_checkpoints, checkpoint_loading, guard, model_hub,
                             ssd_head)
from rexnet_mm.fixes.guard import UpstreamFixWarning

BY_NAME = {fix.name: fix for fix in fixes.FIXES}


def _assert_pinned(fix):
    assert fix.requires and fix.pins, f'{fix.name}: declares no version range or no pin'
    for target, pinned in fix.pins.items():
        assert re.fullmatch('[0-9a-f]{64}', pinned), (fix.name, target)
        assert guard.source_sha256(target) == pinned, (
            f"fix '{fix.name}': {target} is not the code the fix was written for "
            f'({fix.ranges()}): re-read the fix against it, then update pin and range')
    assert guard.problem(fix) is None
    assert fixes.APPLIED[fix.name], f'{fix.name} was not applied on import'


def test_pin_checkpoint_loading():
    _assert_pinned(checkpoint_loading.FIX)


def test_pin_ssd_head():
    _assert_pinned(ssd_head.INFERENCE)


def test_pin_ssd_distributed_loss():
    _assert_pinned(ssd_head.DISTRIBUTED_LOSS)


def test_pin_default_scope():
    _assert_pinned(BY_NAME['default_scope'])


def test_pin_atomic_checkpoints():
    _assert_pinned(atomic_checkpoints.FIX)


def test_pin_model_hub():
    _assert_pinned(model_hub.REGISTRATION)


def test_pin_get_model_guard():
    _assert_pinned(model_hub.GET_MODEL_GUARD)


def test_every_fix_has_a_pin_test_and_a_guard_case():
    names = [fix.name for fix in fixes.FIXES]
    assert len(set(names)) == len(names) == 7
    assert {f'test_pin_{n}' for n in names} <= set(globals())
    assert set(names) == set(CASES) == set(fixes.APPLIED)


# ------------------------------------------------ a changed pin or range: warn, don't patch

def _unwrap(monkeypatch, owner, name):
    monkeypatch.setattr(owner, name, inspect.unwrap(inspect.getattr_static(owner, name)))


def _checkpoint_loading():
    def unpatch(mp):  # the restore_safe_globals fixture gives the allow-list back
        torch.serialization.clear_safe_globals()

    def patched():
        return len(torch.serialization.get_safe_globals()) > 0

    return checkpoint_loading.allow_runner_checkpoints, unpatch, patched


def _ssd_head():
    from mmdet.models.dense_heads import SSDHead

    def unpatch(mp):
        mp.delattr(SSDHead, 'loss_cls')

    return ssd_head.fix_ssd_head_inference, unpatch, lambda: hasattr(SSDHead, 'loss_cls')


def _ssd_distributed_loss():
    from mmdet.models.dense_heads import SSDHead

    def unpatch(mp):
        _unwrap(mp, SSDHead, 'get_targets')

    def patched():
        return getattr(SSDHead.get_targets, 'rexnet_mm_global_avg_factor', False)

    return ssd_head.fix_ssd_distributed_loss, unpatch, patched


def _default_scope():
    import mmdet.apis
    import mmdet.apis.inference

    def unpatch(mp):
        for module in (mmdet.apis, mmdet.apis.inference):
            _unwrap(mp, module, 'init_detector')

    def patched():
        return getattr(mmdet.apis.init_detector, '_rexnet_mm_scoped', False)

    return fixes.isolate_toolbox_scopes, unpatch, patched


def _atomic_checkpoints():
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.hooks import CheckpointHook

    def unpatch(mp):
        for name in ('put', 'put_text'):
            _unwrap(mp, LocalBackend, name)
        _unwrap(mp, CheckpointHook, '_save_checkpoint_with_step')

    def patched():
        return (getattr(LocalBackend.put, 'rexnet_mm_atomic', False)
                and hasattr(CheckpointHook._save_checkpoint_with_step, '__wrapped__'))

    return fixes.make_checkpoints_atomic, unpatch, patched


def _model_hub():
    from mmpretrain.apis.model import ModelHub

    from rexnet_mm.apis.config import config_dir
    from rexnet_mm.apis.model_hub import CLASSIFICATION_METAFILES, register_model_hub
    ours = set(register_model_hub.names)

    def unpatch(mp):
        mp.setattr(ModelHub, '_models_dict',
                   {k: v for k, v in ModelHub._models_dict.items() if k not in ours})

    def apply():
        root = config_dir()
        return model_hub.register_metafiles(
            [f'{root}/{rel}' for rel in CLASSIFICATION_METAFILES], root.rpartition('/')[0])

    return apply, unpatch, lambda: ours and ours <= set(ModelHub._models_dict)


def _get_model_guard():
    import importlib

    def unpatch(mp):
        for name in model_hub.GET_MODEL_MODULES:
            _unwrap(mp, importlib.import_module(name), 'get_model')

    def patched():
        import mmpretrain
        return getattr(mmpretrain.get_model, 'rexnet_mm_guard', False)

    return lambda: model_hub.guard_get_model(lambda model, pretrained: None), unpatch, patched


#: fix name -> (apply, unpatch(monkeypatch): restore upstream's code, patched())
CASES = {'checkpoint_loading': _checkpoint_loading, 'ssd_head': _ssd_head,
         'ssd_distributed_loss': _ssd_distributed_loss, 'default_scope': _default_scope,
         'atomic_checkpoints': _atomic_checkpoints, 'model_hub': _model_hub,
         'get_model_guard': _get_model_guard}


@pytest.fixture
def restore_safe_globals():
    saved = torch.serialization.get_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(saved)


@pytest.mark.parametrize('change', ['pin', 'range'])
@pytest.mark.parametrize('name', sorted(CASES))
def test_a_changed_pin_or_range_warns_and_leaves_upstream_alone(name, change, monkeypatch,
                                                                 restore_safe_globals):
    fix = BY_NAME[name]
    apply, unpatch, patched = CASES[name]()
    unpatch(monkeypatch)
    assert not patched()
    with monkeypatch.context() as m:
        if change == 'pin':  # upstream's code is no longer the pinned one
            target = next(iter(fix.pins))
            m.setitem(fix.pins, target, '0' * 64)
            expected = f"rexnet_mm fix '{name}' not applied: {re.escape(target)} differs"
        else:  # the installed release is past the range it was written for
            package, low, _ = fix.requires[0]
            m.setattr(fix, 'requires', ((package, '0.0.1', low), *fix.requires[1:]))
            version = guard.installed_version(package)
            expected = (f"rexnet_mm fix '{name}' not applied: {package} {re.escape(version)} "
                        'is outside the range')
        with pytest.warns(UpstreamFixWarning, match=expected):
            assert not apply()
        assert not patched()
    # the real pin and range: the same call patches upstream's code
    with warnings.catch_warnings():
        warnings.simplefilter('error', UpstreamFixWarning)
        assert apply()
    assert patched()


def test_a_missing_package_is_skipped_without_a_warning(monkeypatch):
    fix = guard.Fix('nothing_to_fix', requires=(('no_such_package_xyz', '1.0', '2.0'), ),
                    pins={})

    @guard.guarded(fix)
    def apply():
        raise AssertionError('applied without its package')

    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert apply() is False


def test_a_pinned_name_that_is_gone_warns(monkeypatch):
    fix = BY_NAME['ssd_head']
    monkeypatch.setattr(fix, 'pins', {'mmdet.models.dense_heads.ssd_head:SSDHead.nope': '0' * 64})
    with pytest.warns(UpstreamFixWarning, match=r"'ssd_head' not applied: .*SSDHead.nope cannot"):
        assert ssd_head.fix_ssd_head_inference() is False


# ------------------------------------------------------------ what the fixes check themselves

def test_avg_factor_position_is_read_by_name_from_mmdet():
    assert ssd_head.avg_factor_index() == 4  # mmdet 3.3.0: labels, weights, targets, weights


def test_a_reordered_avg_factor_warns_and_is_not_applied(monkeypatch):
    from mmdet.models.dense_heads import SSDHead
    _unwrap(monkeypatch, SSDHead, 'get_targets')
    names = ssd_head._tuple_names

    def reordered(function, target, value):  # as if upstream moved avg_factor in one place
        found = names(function, target, value)
        return found[-1:] + found[:-1] if value is None else found

    monkeypatch.setattr(ssd_head, '_tuple_names', reordered)
    assert ssd_head.avg_factor_index() is None
    with pytest.warns(UpstreamFixWarning, match="'ssd_distributed_loss' not applied: avg_factor"):
        assert ssd_head.fix_ssd_distributed_loss() is False
    assert not hasattr(SSDHead.get_targets, 'rexnet_mm_global_avg_factor')


def test_global_avg_factor_replaces_only_the_avg_factor():
    labels = [torch.zeros(3)]

    def get_targets(self, value):
        return (labels, 'weights', 'targets', 'bbox_weights', value, 'sampling')

    wrapped = ssd_head._global_avg_factor(get_targets, 4)
    assert wrapped(None, 7) == (labels, 'weights', 'targets', 'bbox_weights', 7.0, 'sampling')
    assert wrapped(None, torch.tensor(0))[4] == 1.0  # floored at 1 (no positives)
    with pytest.raises(TypeError, match="fix 'ssd_distributed_loss': element 4 .* list"):
        wrapped(None, [1, 2])


def test_old_checkpoints_are_removed_after_the_new_one_is_written(tmp_path):
    """CheckpointHook with max_keep_ckpts=1: mmengine's own method removes epoch_1.pth
    before it writes epoch_2.pth; wrapped, the removal waits for the write, and the hook's
    backend is its own again afterwards."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    from mmengine.hooks import CheckpointHook
    from mmengine.logging import MessageHub
    events = []

    class Backend(LocalBackend):
        def remove(self, path):
            events.append(('remove', path.rpartition('/')[2]))
            super().remove(path)

    class Runner:
        work_dir = str(tmp_path)
        message_hub = MessageHub.get_instance('rexnet_mm-test-fixes')

        def save_checkpoint(self, out_dir, filename, *args, **kwargs):
            events.append(('save', filename))
            (tmp_path / filename).write_bytes(b'new')

    def save(method):
        events.clear()
        (tmp_path / 'epoch_1.pth').write_bytes(b'old')
        hook = CheckpointHook(interval=1, max_keep_ckpts=1, by_epoch=True)
        hook.out_dir, hook.file_backend = str(tmp_path), Backend()
        hook.keep_ckpt_ids = collections.deque([1], maxlen=1)
        backend = hook.file_backend
        method(hook, Runner(), 2, {})
        assert hook.file_backend is backend
        return list(events)

    wrapped = CheckpointHook._save_checkpoint_with_step
    assert save(inspect.unwrap(wrapped)) == [('remove', 'epoch_1.pth'), ('save', 'epoch_2.pth')]
    assert save(wrapped) == [('save', 'epoch_2.pth'), ('remove', 'epoch_1.pth')]
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == ['epoch_2.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_2.pth')


def test_put_wraps_mmengines_own_put(tmp_path):
    """The atomic ``put`` is mmengine's own ``put`` into a temporary file, renamed after."""
    from mmengine.fileio.backends.local_backend import LocalBackend
    put = LocalBackend.put
    assert inspect.getclosurevars(put).nonlocals['put'] is inspect.unwrap(put)
    dst = tmp_path / 'sub' / 'a.pth'
    LocalBackend().put(b'x', dst)
    LocalBackend().put_text('y', tmp_path / 'b.txt')
    assert dst.read_bytes() == b'x' and (tmp_path / 'b.txt').read_text() == 'y'
    assert not list(tmp_path.rglob('*.tmp-*'))


def test_docs_table_lists_every_fix_with_its_range():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / 'docs' / 'install.md').read_text()
    rows = {line.split('|')[1].strip(' `'): line for line in text.splitlines()
            if line.startswith('| `')}
    for fix in fixes.FIXES:
        assert fix.name in rows, f'docs/install.md has no row for the fix {fix.name!r}'
        ranges = '; '.join(f'{p} >={lo},<{hi}' for p, lo, hi in fix.requires)
        assert f'| {ranges} |' in rows[fix.name] and f'test_pin_{fix.name}' in rows[fix.name], \
            f'docs/install.md: the row of {fix.name!r} should say {ranges} and its pin test'
