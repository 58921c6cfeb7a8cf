"""The wheel a user installs: built with ``pip wheel .``, installed (not editable) into a
scratch venv that reuses this venv's stack, and used from a folder outside the checkout:
configs found through the API, every console script run for real on tiny data (exit
status, nothing stray printed), and our names in mmpretrain's ModelHub."""
import os
import os.path as osp
import re
import subprocess
import sys
import sysconfig

import pytest

pytestmark = pytest.mark.slow  # pip wheel, a fresh venv, one training iteration

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _env(**extra):
    """The environment of the scratch venv's processes: no PYTHONPATH (a checkout on it
    would be imported instead of the wheel)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(extra)
    return env


def _run(cmd, cwd, timeout=600):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env=_env())
    assert res.returncode == 0, f'{cmd}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}'
    return res.stdout


@pytest.fixture(scope='module')
def scratch(tmp_path_factory):
    root = tmp_path_factory.mktemp('wheel')
    wheels = root / 'wheels'
    _run([sys.executable, '-m', 'pip', 'wheel', REPO, '--no-deps', '--no-build-isolation',
          '-q', '-w', str(wheels)], cwd=str(root))
    (wheel, ) = list(wheels.glob('rexnet_mm-*.whl'))
    venv = root / 'venv'
    _run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], cwd=str(root))
    py = str(venv / 'bin' / 'python')
    site = _run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                cwd=str(root)).strip()
    # reuse the installed stack (torch, mmcv, mmdet, ...) as a plain path: this venv's
    # own .pth files, among them the editable rexnet_mm, are not read
    with open(osp.join(site, 'zz_stack.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    _run([sys.executable, '-m', 'pip', '--python', py, 'install', '--no-deps', '--no-index',
          '-q', str(wheel)], cwd=str(root))
    work = root / 'project'  # a user's folder, outside the checkout
    work.mkdir()
    return dict(py=py, bin=str(venv / 'bin'), work=str(work), site=site)


def test_wheel_ships_the_configs_and_the_api_finds_them(scratch):
    out = _run([scratch['py'], '-c', (
        'import rexnet_mm, mmpretrain; print(rexnet_mm.__file__); '
        "print(rexnet_mm.get_config_path('ssdlite_rexnet')); "
        'print(len(rexnet_mm.list_configs())); '
        "print(rexnet_mm.get_config('fpn_rexnet-1.0_shapes').model.backbone.type); "
        "print(mmpretrain.list_models('*rexnet*'))")], cwd=scratch['work'])
    module, cfg_path, count, backbone, models = out.strip().splitlines()[-5:]
    assert module.startswith(scratch['site']), module  # the wheel, not the checkout
    assert cfg_path.startswith(osp.join(scratch['site'], 'rexnet_mm', '.mim', 'configs'))
    checkout = __import__('rexnet_mm').list_configs()
    assert int(count) == len(checkout) and len(checkout) > 40
    assert backbone.endswith('ReXNet')
    assert "'rexnet-1.0_4xb128_in1k'" in models and "'rexnet-lite-1.0_4xb128_in1k'" in models


#: What a command's return value looks like if a launcher prints it (``sys.exit(main())``
#: with a Runner, a metrics dict, a result dict): none of our lines starts so.
STRAY_VALUE = re.compile(r"^(<[\w.]+ object at 0x|\{'|\[')", re.M)


def _start(scratch, script, *args, threads=1):
    """An installed console script, started from the user's folder."""
    env = _env(OMP_NUM_THREADS=str(threads))
    return subprocess.Popen([osp.join(scratch['bin'], script), *args], cwd=scratch['work'],
                            env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _finish(procs, expected_rc=None):
    """Wait for ``{name: Popen}`` (run side by side: each pays a full import) and check
    each exit status (0 unless ``expected_rc`` says) and that stderr holds no stray
    value; returns ``{name: (stdout, stderr)}``."""
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        rc = (expected_rc or {}).get(name, 0)
        assert proc.returncode == rc, f'{name}: rc {proc.returncode}\n{out[-3000:]}\n{err[-3000:]}'
        assert not STRAY_VALUE.search(err), f'{name}: {STRAY_VALUE.search(err).group(0)}'
        assert 'Traceback' not in err, f'{name}: {err[-3000:]}'
        results[name] = out, err
    return results


def test_every_console_script_runs_outside_the_checkout(scratch):
    """Each installed console script, for real on tiny data, from a folder outside the
    checkout: exit status 0 (1 for a handled error) and no returned value printed (pip's launchers call ``sys.exit(<entry point>())``). The configs are
    given by name and the data by --data-root."""
    work = scratch['work']
    _finish({
        'gen-coco': _start(scratch, 'rexnet-mm-gen-coco', '--out', 'data/shapes', '--train',
                           '8', '--val', '4', '--size', '64'),
        'gen-finegrained': _start(scratch, 'rexnet-mm-gen-finegrained', 'data/birds',
                                  '--num-classes', '2', '--train-per-class', '2',
                                  '--test-per-class', '1', '--size', '32'),
        'gen-seg': _start(scratch, 'rexnet-mm-gen-seg', '--out', 'data/seg', '--train', '1',
                          '--val', '1', '--size', '32')})
    assert osp.isfile(osp.join(work, 'data', 'seg', 'synthetic_info.json'))
    ran = _finish({
        'train': _start(scratch, 'rexnet-mm-train', 'ssdlite_rexnet_shapes', '--data-root',
                        'data/shapes', '--work-dir', 'work_dirs/one', '--cfg-options',
                        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
                        'default_hooks.checkpoint.interval=1', threads=2),
        'transfer': _start(scratch, 'rexnet-mm-transfer', 'synthetic', '--scratch',
                           '--data-root', 'data/birds', '--work-dir', 'work_dirs/birds',
                           '--epochs', '1', '--batch-size', '2', '--num-workers', '0')})
    assert osp.isfile(osp.join(work, 'work_dirs', 'one', 'epoch_1.pth'))
    assert 'coco/bbox_mAP' in ''.join(ran['train'])
    assert 'transfer synthetic rexnet-1.0 (scratch): test top-1' in ran['transfer'][0]
    (birds, ) = [f for f in os.listdir(osp.join(work, 'work_dirs', 'birds'))
                 if f.startswith('epoch_') and f.endswith('.pth')]
    ran = _finish({
        'test': _start(scratch, 'rexnet-mm-test', 'ssdlite_rexnet_shapes',
                       'work_dirs/one/epoch_1.pth', '--data-root', 'data/shapes', '--work-dir',
                       'work_dirs/one_test', '--json-prefix', 'work_dirs/one/results',
                       '--cfg-options', 'test_dataloader.num_workers=0'),
        'deploy': _start(scratch, 'rexnet-mm-deploy', 'ssdlite_rexnet_shapes',
                         'work_dirs/one/epoch_1.pth', '--out', 'work_dirs/one/model.onnx'),
        'convert': _start(scratch, 'rexnet-mm-convert', f'work_dirs/birds/{birds}',
                          'work_dirs/birds/timm.pth', '--to', 'timm')})
    assert 'coco/bbox_mAP' in ''.join(ran['test'])
    assert 'input: image, float32 1 x 3 x 128 x 128' in ran['deploy'][0]
    assert osp.isfile(osp.join(work, 'work_dirs', 'birds', 'timm.pth'))
    ran = _finish({
        'coco-eval': _start(scratch, 'rexnet-mm-coco-eval',
                            'data/shapes/annotations/instances_val.json', '--prefix',
                            'work_dirs/one/results'),
        'coco-eval error': _start(scratch, 'rexnet-mm-coco-eval', 'missing.json', '--bbox',
                                  'work_dirs/one/results.bbox.json'),
        'fetch-weights list': _start(scratch, 'rexnet-mm-fetch-weights', '--list'),
        # the suite runs offline with an empty cache (tests/conftest.py)
        'fetch-weights offline': _start(scratch, 'rexnet-mm-fetch-weights', 'rexnet-1.0')},
        {'coco-eval error': 1, 'fetch-weights offline': 1})
    assert 'hf-hub:timm/regnety_016.pycls_in1k' in ran['fetch-weights list'][0]
    assert 'cannot fetch rexnet_mm://rexnet-1.0 (offline' in ran['fetch-weights offline'][1]
    assert 'bbox: AP=' in ran['coco-eval'][0]
    assert ran['coco-eval error'][1].strip().splitlines()[-1] == (
        "error: annotation file 'missing.json' does not exist")
