"""One name per thing (docs/development.md, "Names"): the old spellings of our names do
not come back, in code, configs, docs or tests. A line that must show an old spelling
(a test of the suggestion for a misspelt name) carries the marker ``old spelling on
purpose``."""
import os.path as osp
import re
import subprocess

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MARKER = 'old spelling on purpose'

#: old spelling -> the name to use
OLD = {
    # a model in our names: rexnet-1.0, not rexnet_1.0 (timm's rexnet_100 is timm's)
    r'\brexnet_(?:lite_)?\d\.\d(?!\d)': 'rexnet-1.0 / rexnet-lite-1.0',
    # the authors' file is rexnetv1_1.0x.pth (their README's name)
    r'\brexnetv1_\d\.\d\.pth': 'rexnetv1_1.0x.pth',
    # converted ImageNet weights: <model>_in1k.pth, or better the zoo name
    r'_imagenet\.pth': 'checkpoints/<model>_in1k.pth or rexnet_mm://<model>',
    # our config names are lower case; mmdet's own (its regnet/... paths) are theirs
    r'(?<!regnet/)(?<!mmdet `)\b(?:faster|mask)-rcnn_regnet[xy]-[\d.]+(?:GF|MF)': 'regnetx-3.2gf',
    # tools/transfer.py names the model it fine-tunes
    r'--arch\s+(?:rexnet|regnet)': '--model rexnet-1.0',
}


def _tracked_text_files():
    files = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [f for f in files if f.endswith(('.py', '.md', '.yml', '.yaml', '.sh', '.txt'))
            and f != 'tests/test_names.py']


def find_old_spellings(lines_of):
    """``[(file, line number, old spelling, name to use)]`` in ``{file: lines}``."""
    found = []
    for path, lines in lines_of.items():
        for number, line in enumerate(lines, 1):
            if MARKER in line:
                continue
            for pattern, use in OLD.items():
                for m in re.finditer(pattern, line):
                    found.append((path, number, m.group(0), use))
    return found


def test_no_old_spellings_in_the_repository():
    lines_of = {}
    for rel in _tracked_text_files():
        with open(osp.join(ROOT, rel), encoding='utf-8', errors='replace') as f:
            lines_of[rel] = f.read().splitlines()
    found = find_old_spellings(lines_of)
    assert not found, '\n'.join(f'{p}:{n}: {old!r} -> {use}' for p, n, old, use in found)


def test_the_check_finds_each_old_spelling():
    """Every pattern catches its old spelling and leaves the right names alone."""
    lines = {'x.md': ['python tools/transfer.py cub --arch rexnet_1.0',
                      'convert rexnetv1_1.3.pth to checkpoints/rexnet_1.3_imagenet.pth',
                      'configs/detection/faster-rcnn/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py'],
             'ok.md': ['python tools/transfer.py cub --model rexnet-1.0',
                       "timm's rexnet_100, the authors' rexnetv1_1.0x.pth",
                       "mmdet's regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py",
                       'faster-rcnn_regnetx-3.2gf_fpn_1x_coco.py, checkpoints/rexnet-1.0_in1k.pth',
                       f'rexnet_1.0  # {MARKER}']}
    found = find_old_spellings(lines)
    assert {p for p, *_ in found} == {'x.md'}
    assert sorted(old for *_, old, _ in found) == sorted([
        '--arch rexnet', 'rexnet_1.0', 'rexnetv1_1.3.pth', 'rexnet_1.3', '_imagenet.pth',
        'faster-rcnn_regnetx-3.2GF'])


def test_config_file_names_are_lower_case():
    configs = [f for f in _tracked_text_files() if f.startswith('configs/')]
    assert len(configs) > 50
    assert [f for f in configs if f != f.lower() and not f.endswith('README.md')] == []
