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

    # export back to timm reproduces the original file, key for key
    back = tmp_path / 'timm_again.pth'
    assert run(str(dst), str(back), '--to', 'timm').returncode == 0
    again = torch.load(back, weights_only=True)['state_dict']
    assert list(again) == list(ref.state_dict())
    assert all(torch.equal(again[k], v) for k, v in ref.state_dict().items())


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
