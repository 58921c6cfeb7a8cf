"""tools/convert_checkpoint.py: detection, conversion, export, and never losing files."""
import contextlib
import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from rexnet_mm.analysis.parity import randomize_, timm_rexnet
from rexnet_mm.tools import convert_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def run_script(*args):
    """The script itself, in a new process (what a user runs)."""
    return subprocess.run([sys.executable, str(ROOT / 'tools' / 'convert_checkpoint.py'), *args],
                          capture_output=True, text=True)


def run(*args):
    """The script's ``main`` in this process (a new process costs ~10 s of imports here):
    its exit status, stdout and stderr, as ``run_script`` gives them."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            convert_checkpoint.main(list(args))
        except SystemExit as exc:
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
            code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.mark.slow  # the script in a new process
def assert_exports_back_to(ref, dst, tmp_path):
    """``--to timm`` on the converted file ``dst`` reproduces timm model ``ref``'s state
    dict, key for key and tensor for tensor."""
    back = tmp_path / 'timm_again.pth'
    assert run(str(dst), str(back), '--to', 'timm').returncode == 0
    again = torch.load(back, weights_only=True)['state_dict']
    assert list(again) == list(ref.state_dict())
    assert all(torch.equal(again[k], v) for k, v in ref.state_dict().items())


def test_cli_converts_exports_and_protects_files(tmp_path):
    ref = randomize_(timm_rexnet(1.0), seed=5)
    src = tmp_path / 'rexnet_100.pth'
    torch.save(ref.state_dict(), src)
    dst = tmp_path / 'ours.pth'
    res = run_script(str(src), str(dst))
    assert res.returncode == 0, res.stderr
    assert 'rexnet_timm layout, 413 tensors' in res.stdout
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['source_format'] == 'rexnet_timm'
    sd = ckpt['state_dict']
    assert torch.equal(sd['head.fc.weight'], ref.state_dict()['head.fc.weight'])
    assert torch.equal(sd['backbone.layer6.4.se.fc2.bias'],
                       ref.state_dict()['features.15.se.fc2.bias'])

    # an existing output is not overwritten without --force, the source never
    before = dst.read_bytes()
    res = run(str(src), str(dst))
    assert res.returncode != 0 and 'exists; pass --force' in res.stderr
    assert dst.read_bytes() == before
    res = run(str(src), str(src), '--force')
    assert res.returncode != 0 and 'must differ from SRC' in res.stderr

    assert_exports_back_to(ref, dst, tmp_path)


def test_cli_errors_are_one_line(tmp_path):
    res = run(str(tmp_path / 'missing.pth'), str(tmp_path / 'out.pth'))
    assert res.returncode != 0
    assert res.stderr.strip().count('\n') == 0 and 'does not exist' in res.stderr
    junk = tmp_path / 'junk.pth'
    junk.write_text('hello')
    res = run(str(junk), str(tmp_path / 'out.pth'))
    assert res.returncode != 0 and res.stderr.strip().count('\n') == 0
    assert 'cannot read checkpoint' in res.stderr
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.slow
def test_cli_converts_many_files_into_a_directory(tmp_path):
    """Several sources go to DIR/<name>.pth under a progress bar; a bad one is reported
    in one line and does not stop the others; exit status 1 then."""
    src = tmp_path / 'src'
    src.mkdir()
    for seed, name in ((1, 'a'), (2, 'b')):
        torch.save(randomize_(timm_rexnet(1.0), seed=seed).state_dict(), src / f'{name}.pth')
    (src / 'junk.pth').write_text('hello')
    out = tmp_path / 'converted'
    res = run(str(src / 'a.pth'), str(src / 'junk.pth'), str(src / 'b.pth'), str(out))
    assert res.returncode == 1
    assert sorted(p.name for p in out.iterdir()) == ['a.pth', 'b.pth']
    assert res.stdout.count('rexnet_timm layout, 413 tensors') == 2
    errors = [line for line in res.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 2 and 'junk.pth' in errors[0] and '1 of 3' in errors[1], errors
    assert '3/3' in res.stderr  # mmengine's progress bar reached the end
    b = torch.load(out / 'b.pth', weights_only=True)['state_dict']
    assert torch.equal(b['head.fc.weight'], torch.load(src / 'b.pth')['head.fc.weight'])
    # converting again keeps what is there (no --force): every file is refused
    res = run(str(src / 'a.pth'), str(src / 'b.pth'), str(out))
    assert res.returncode == 1 and res.stderr.count('exists; pass --force') == 2


@pytest.mark.parity
@pytest.mark.parametrize('kwargs', [dict(depth_mult=0.67), dict(width_mult=1.1)],
                         ids=['depth_mult-0.67', 'width_mult-1.1'])
def test_any_timm_rexnet_converts_and_builds_exactly(tmp_path, kwargs):
    """A ReXNet timm builds and saves with an unpublished plan: the CLI infers the plan
    from the tensors (block count and widths), writes the backbone arguments that build
    it into the file's meta, and that backbone gives timm's outputs; --to timm gives the
    original file back."""
    import timm
    from rexnet_mm.analysis.parity import random_image, rel_diff, timm_rexnet_outputs
    from rexnet_mm.models.classifiers import build_rexnet_classifier
    from rexnet_mm.analysis.parity import meta_built
    ref = randomize_(meta_built(timm.models.rexnet.RexNet, **kwargs), seed=11).eval()
    src, dst = tmp_path / 'timm.pth', tmp_path / 'ours.pth'
    torch.save(ref.state_dict(), src)
    res = run(str(src), str(dst))
    assert res.returncode == 0, res.stderr
    ckpt = torch.load(dst, weights_only=True)
    plan = dict(ckpt['meta']['backbone'])
    expected = dict(type='ReXNet', arch='v1', widen_factor=kwargs.get('width_mult', 1.0),
                    depth_mult=kwargs.get('depth_mult', 1.0))
    assert plan == expected
    kind = ', depth_mult 0.67' if 'depth_mult' in kwargs else ''
    assert f'ReXNet-{expected["widen_factor"]:g} (v1{kind}), built by ReXNet(' in res.stdout
    plan.pop('type')
    ours = build_rexnet_classifier(**plan).eval()
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    x = random_image(64, seed=12)
    depth = kwargs.get('depth_mult', 1.0)
    logits, taps = timm_rexnet_outputs(ref, x, depth_mult=depth)
    saved = ours.backbone.out_indices
    ours.backbone.out_indices = tuple(range(7))
    feats = ours.backbone(x)
    ours.backbone.out_indices = saved
    # same float32 ops in the same order: 1e-6 of the scale measured, 1e-5 leaves 10x
    for mine, theirs in zip(feats, taps):
        assert rel_diff(mine, theirs) < 1e-5
    assert rel_diff(ours(x, mode='tensor'), logits) < 1e-5

    assert_exports_back_to(ref, dst, tmp_path)


def test_checkpoint_of_another_plan_names_the_arguments_that_fit(tmp_path):
    """Loading a depth_mult 0.67 file into a ReXNet-1.0 says which arguments build it."""
    import timm
    from rexnet_mm.analysis.parity import meta_built
    from rexnet_mm.models.backbones.rexnet import ReXNet
    from rexnet_mm.weights import CheckpointError, load_backbone_weights
    src = tmp_path / 'timm.pth'
    torch.save(meta_built(timm.models.rexnet.RexNet, depth_mult=0.67).state_dict(), src)
    with pytest.raises(CheckpointError) as exc:
        load_backbone_weights(ReXNet(), str(src))
    assert ('holds ReXNet-1 (v1, depth_mult 0.67) but the model is ReXNet-1 (v1); build the '
            'backbone as ReXNet(depth_mult=0.67)') in str(exc.value)
