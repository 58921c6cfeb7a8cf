"""The ImageNet weights zoo: for every published ReXNet and pycls RegNet, where its
weights live, best source first. One table, no code per model.

A config names weights by zoo name, ``init_cfg=dict(type='Pretrained',
checkpoint='rexnet_mm://rexnet-1.0')``; a source written directly works too
(``hf-hub:timm/rexnet_100.nav_in1k``, ``open-mmlab://regnetx_3.2gf``, an ``https://`` URL).
:mod:`rexnet_mm.weights.download` fetches, verifies, converts and caches them.

Sources, in the order they are tried:

* ``hf-hub:REPO``: timm's copy on the Hugging Face hub (``model.safetensors``; the ids
  are timm's own ``pretrained_cfg.hf_hub_id``). Its sha256 is the hub's ETag, checked
  against the downloaded bytes.
* ``open-mmlab://NAME``: OpenMMLab's copy (mmengine's ``open_mmlab.json`` gives the URL);
  the sha256 prefix is pinned by the file's torch-hub-style name
  (``regnetx_3.2gf-c2599b0f.pth``).
* ``https://...``: the original files (pycls' ``.pyth``). Where the name pins no hash,
  the sha256 of the first download is recorded and every later use is checked
  against it.
* ``manual:PAGE FILE``: a page that needs a browser (the ReXNet authors' Google Drive
  pages). Never downloaded: the error names the page, the file and where to put it.

Names are the project's model names (docs/development.md, "Names"): ``rexnet-1.0``,
``rexnet-lite-1.0``, ``regnetx-3.2gf``, ``regnety-1.6gf``. ``backbone`` is the backbone
config the weights fit.
"""
import difflib
import re

from .base import CheckpointError

_PYCLS = 'https://dl.fbaipublicfiles.com/pycls/dds_baselines'
_DRIVE = 'https://drive.google.com/file/d'


def _rexnet(width, timm_id=None, drive=None):
    sources = [f'hf-hub:timm/{timm_id}'] if timm_id else []
    if drive:
        sources.append(f'manual:{_DRIVE}/{drive}/view rexnetv1_{width}x.pth')
    return (dict(type='ReXNet', widen_factor=float(width), arch='v1'), tuple(sources))


def _regnet(arch, timm_name, pycls_id, openmmlab=False):
    sources = [f'hf-hub:timm/{timm_name}.pycls_in1k']
    if openmmlab:
        sources.append(f'open-mmlab://{arch}')
    pycls_name = f'RegNet{arch[6].upper()}-{arch[8:].upper()}'  # regnetx_3.2gf: RegNetX-3.2GF
    sources.append(f'{_PYCLS}/{pycls_id}/{pycls_name}_dds_8gpu.pyth')
    return (dict(type='PyclsRegNet', arch=arch), tuple(sources))


#: name -> (backbone config, sources best first). ReXNet-0.9 and 2.2 (used by the paper's
#: detectors) and ReXNet-lite have no public download that we know of: their entries
#: have no source, and asking for them says so in one line.
ZOO = {
    'rexnet-0.9': _rexnet('0.9'),
    'rexnet-1.0': _rexnet('1.0', 'rexnet_100.nav_in1k', '1xeIJ3wb83uOowU008ykYj6wDX2dsncA9'),
    'rexnet-1.3': _rexnet('1.3', 'rexnet_130.nav_in1k', '1x2ziK9Oyv66Y9NsxJxXsdjzpQF2uSJj0'),
    'rexnet-1.5': _rexnet('1.5', 'rexnet_150.nav_in1k', '1TOBGsbDhTHWBgqcRnyKIR0tHsJTOPUIG'),
    'rexnet-2.0': _rexnet('2.0', 'rexnet_200.nav_in1k', '1R1aOTKIe1Mvck86NanqcjWnlR8DY-Z4C'),
    'rexnet-2.2': _rexnet('2.2'),
    'rexnet-3.0': _rexnet('3.0', 'rexnet_300.nav_in1k', '1chOnQPKtE1LaLz6WzSdzH55x6VlZ29sQ'),
    'rexnet-lite-1.0': (dict(type='ReXNet', widen_factor=1.0, arch='lite'), ()),
    'rexnet-lite-1.3': (dict(type='ReXNet', widen_factor=1.3, arch='lite'), ()),
    'rexnet-lite-1.5': (dict(type='ReXNet', widen_factor=1.5, arch='lite'), ()),
    'rexnet-lite-2.0': (dict(type='ReXNet', widen_factor=2.0, arch='lite'), ()),
    # pycls zoo (pycls/models/model_zoo.py); timm's .pycls_in1k copies are the same weights
    'regnetx-200mf': _regnet('regnetx_200mf', 'regnetx_002', 160905981),
    'regnetx-400mf': _regnet('regnetx_400mf', 'regnetx_004', 160905967, openmmlab=True),
    'regnetx-600mf': _regnet('regnetx_600mf', 'regnetx_006', 160906442),
    'regnetx-800mf': _regnet('regnetx_800mf', 'regnetx_008', 160906036, openmmlab=True),
    'regnetx-1.6gf': _regnet('regnetx_1.6gf', 'regnetx_016', 160990626, openmmlab=True),
    'regnetx-3.2gf': _regnet('regnetx_3.2gf', 'regnetx_032', 160906139, openmmlab=True),
    'regnetx-4.0gf': _regnet('regnetx_4.0gf', 'regnetx_040', 160906383, openmmlab=True),
    'regnetx-6.4gf': _regnet('regnetx_6.4gf', 'regnetx_064', 161116590, openmmlab=True),
    'regnetx-8.0gf': _regnet('regnetx_8.0gf', 'regnetx_080', 161107726, openmmlab=True),
    'regnetx-12gf': _regnet('regnetx_12gf', 'regnetx_120', 160906020, openmmlab=True),
    'regnetx-16gf': _regnet('regnetx_16gf', 'regnetx_160', 158460855),
    'regnetx-32gf': _regnet('regnetx_32gf', 'regnetx_320', 158188473),
    'regnety-200mf': _regnet('regnety_200mf', 'regnety_002', 176245422),
    'regnety-400mf': _regnet('regnety_400mf', 'regnety_004', 160906449),
    'regnety-600mf': _regnet('regnety_600mf', 'regnety_006', 160981443),
    'regnety-800mf': _regnet('regnety_800mf', 'regnety_008', 160906567),
    'regnety-1.6gf': _regnet('regnety_1.6gf', 'regnety_016', 160906681),
    'regnety-3.2gf': _regnet('regnety_3.2gf', 'regnety_032', 160906834),
    'regnety-4.0gf': _regnet('regnety_4.0gf', 'regnety_040', 160906838),
    'regnety-6.4gf': _regnet('regnety_6.4gf', 'regnety_064', 160907112),
    'regnety-8.0gf': _regnet('regnety_8.0gf', 'regnety_080', 161160905),
    'regnety-12gf': _regnet('regnety_12gf', 'regnety_120', 160907100),
    'regnety-16gf': _regnet('regnety_16gf', 'regnety_160', 161303400),
    'regnety-32gf': _regnet('regnety_32gf', 'regnety_320', 161277763),
}

SCHEME = 'rexnet_mm://'
#: how a checkpoint spec that is not a local path starts
REMOTE_PREFIXES = (SCHEME, 'hf-hub:', 'open-mmlab://', 'http://', 'https://')


def is_remote(spec):
    """Is ``spec`` a zoo name, hub id or URL (anything but a local path)?"""
    return isinstance(spec, str) and spec.startswith(REMOTE_PREFIXES)


def pinned_sha256(source):
    """The sha256 (prefix) a source's file name pins (torch hub's ``name-<hex>.ext``
    convention), or None."""
    found = re.search(r'-([0-9a-f]{8,64})\.[A-Za-z]+$', source)
    return found.group(1) if found else None


class UnknownWeights(CheckpointError):
    """A name the zoo does not have."""


def entry(name):
    """``(backbone config, sources)`` of a zoo name, or a one-line error naming the
    nearest names."""
    if name in ZOO:
        return ZOO[name]
    near = difflib.get_close_matches(name.lower().replace('_', '-'), ZOO, n=3, cutoff=0.6)
    hint = f'did you mean {" or ".join(near)}? ' if near else ''
    raise UnknownWeights(f'no ImageNet weights named {name!r} in the rexnet_mm zoo: {hint}'
                         f'`python tools/fetch_weights.py --list` lists them all')


def name_for(backbone):
    """The zoo name whose weights fit a backbone config (``type``, ``widen_factor``,
    ``arch``), or None."""
    for name, (fits, _) in ZOO.items():
        if all(backbone.get(k, v if k == 'arch' and v == 'v1' else None) == v
               for k, v in fits.items()):
            return name
    return None
