"""The wheel a user installs: built with ``pip wheel .``, installed (not editable) into a
scratch venv that reuses this venv's stack, and used from a folder outside the checkout:
configs found through the API, a shipped config trained for one iteration, the console
entry points, and our names in mmpretrain's ModelHub."""
import os
import os.path as osp
import subprocess
import sys
import sysconfig

import pytest

pytestmark = pytest.mark.slow  # pip wheel, a fresh venv, one training iteration

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _run(cmd, cwd, timeout=600):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
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


def test_wheel_trains_a_shipped_config_outside_the_checkout(scratch):
    work = scratch['work']
    _run([osp.join(scratch['bin'], 'rexnet-mm-gen-coco'), '--out', 'data/shapes_coco_v3',
          '--train', '8', '--val', '4', '--size', '64'], cwd=work)
    # where get_config_path finds it (checked for another config in the test above)
    cfg = osp.join(scratch['site'], 'rexnet_mm', '.mim', 'configs', 'detection', 'demo',
                   'ssdlite_rexnet_shapes.py')
    env = dict(os.environ, OMP_NUM_THREADS='2')
    res = subprocess.run(
        [scratch['py'], '-m', 'rexnet_mm.tools.train', cfg, '--work-dir', 'work_dirs/one',
         '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'train_dataloader.num_workers=0',
         'val_dataloader.num_workers=0', 'default_hooks.checkpoint.interval=1'],
        cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'work_dirs', 'one', 'epoch_1.pth'))
    assert 'coco/bbox_mAP' in res.stdout + res.stderr
    # the console entry points are installed and reach the same code
    out = _run([osp.join(scratch['bin'], 'rexnet-mm-train'), '--help'], cwd=work)
    assert 'usage' in out
    # the other entry points: pip's launchers call our modules' main (running each would
    # cost a full import, ~10 s, for nothing more)
    for script, module in (('rexnet-mm-test', 'test'), ('rexnet-mm-convert',
                                                         'convert_checkpoint'),
                           ('rexnet-mm-coco-eval', 'coco_eval'),
                           ('rexnet-mm-transfer', 'transfer')):
        with open(osp.join(scratch['bin'], script)) as f:
            assert f'from rexnet_mm.tools.{module} import main' in f.read(), script
