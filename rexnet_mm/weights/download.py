"""Fetch, verify, convert and cache the zoo's weights (:mod:`.zoo`).

:func:`fetch` turns a checkpoint spec (``rexnet_mm://rexnet-1.0``,
``hf-hub:timm/rexnet_100.nav_in1k``, ``open-mmlab://regnetx_3.2gf``, a URL) into a local
file in our layout, which the backbones, :func:`~.base.read_state_dict` and mmengine's
``CheckpointLoader`` (scheme ``rexnet_mm://``) then read like any checkpoint.

The cache (docs/checkpoints.md, "Weights by name"), ``$REXNET_MM_CACHE/weights`` or
``~/.cache/rexnet_mm/weights``:

* ``hub/``: huggingface_hub's cache of the hub files (its own layout);
* ``downloads/<file>``: URL downloads as fetched, with ``<file>.sha256``;
* ``converted/<key>.pth``: the converted checkpoint, with ``<key>.pth.sha256``;
* ``manual/<key>.*``: files a user placed by hand (offline machines, Drive pages).

Guarantees:

* a file is used only if its sha256 matches what is known of it: the hash its name pins
  (``-c2599b0f.pth``), the hub's ETag, or the one recorded when it was first fetched.
  A file that fails is removed and fetched again once; failing again, the next source
  is tried; no source left, one line says what failed and where to place the file;
* downloads go to a temporary file renamed into place when complete (torch.hub's and
  huggingface_hub's downloaders), and the converted file is written the same way;
* one process fetches, others wait: every process takes a lock file per entry, so under
  ``torchrun`` the first downloads and converts and the rest find it cached;
* offline (``REXNET_MM_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) nothing is requested; what
  is not cached stops in one line naming the sources, the file and where to put it;
* mirrors: ``HF_ENDPOINT`` (huggingface_hub's) for hub ids, ``REXNET_MM_MIRROR=URL`` for
  URLs: ``URL/<file name>`` is fetched instead of the original.
"""
import glob
import hashlib
import os
import os.path as osp
import re
import sys

from ..fixes import atomic_write
from .base import (FORMATS, CheckpointError, convert_state_dict, read_state_dict,
                   save_checkpoint)
from .export import input_meta
from .zoo import SCHEME, entry, is_remote, pinned_sha256

_TRUE = ('1', 'true', 'yes', 'on')


class WeightsUnavailable(CheckpointError):
    """No source gave usable weights; the message says what to do."""


class _SourceFailed(Exception):
    """One source failed (the reason is the message); the next one is tried."""


def cache_root():
    """``$REXNET_MM_CACHE/weights`` (default ``~/.cache/rexnet_mm/weights``; the same
    variable moves tools/install.sh's wheel cache)."""
    base = os.environ.get('REXNET_MM_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache'),
        'rexnet_mm')
    return osp.join(base, 'weights')


def offline():
    return any(os.environ.get(v, '').strip().lower() in _TRUE
               for v in ('REXNET_MM_OFFLINE', 'HF_HUB_OFFLINE'))


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _recorded(path):
    try:
        with open(path + '.sha256') as f:
            return f.read().strip() or None
    except OSError:
        return None


def _record(path, sha):
    atomic_write(sha + '\n', path + '.sha256')


def _remove(*paths):
    for path in paths:
        for p in (path, path + '.sha256'):
            if osp.lexists(p):
                os.remove(p)


def _matches(sha, expected):
    return expected is None or sha.startswith(expected.lower())


# ------------------------------------------------------------------ specs
def cache_key(spec):
    """The file name (without extension) a spec is cached under."""
    if spec.startswith(SCHEME):
        return spec[len(SCHEME):]
    return re.sub(r'[^A-Za-z0-9._-]+', '_', spec).strip('_')


def sources_of(spec):
    """``(family or None, [sources best first])`` of a spec."""
    if spec.startswith(SCHEME):
        backbone, sources = entry(spec[len(SCHEME):])
        return ('rexnet' if backbone['type'] == 'ReXNet' else 'regnet'), list(sources)
    return None, [spec]


def url_of(source):
    """The URL a URL source or ``open-mmlab://NAME`` (mmengine's ``open_mmlab.json``)
    names."""
    if source.startswith('open-mmlab://'):
        from mmengine.runner.checkpoint import get_external_models
        name = source[len('open-mmlab://'):]
        urls = get_external_models()
        if name not in urls:
            raise _SourceFailed(f'mmengine knows no {source}')
        return urls[name]
    return source


def _file_name(source):
    if source.startswith('hf-hub:'):
        return f'model.safetensors from https://huggingface.co/{source[len("hf-hub:"):]}'
    if source.startswith('manual:'):
        page, name = source[len('manual:'):].split()
        return f'{name} from {page}'
    url = source if source.startswith('http') else None
    try:
        url = url or url_of(source)
    except _SourceFailed:
        return source
    return f'{osp.basename(url)} from {url}'


# ------------------------------------------------------------------ the sources
def _fetch_hub(source, progress):
    """A hub file through huggingface_hub (honours ``HF_ENDPOINT``), checked against the
    hub's sha256 ETag (huggingface_hub names each cached blob by its ETag)."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError as exc:
        raise _SourceFailed(f'{source}: huggingface_hub is not installed '
                            f'(pip install huggingface_hub)') from exc
    repo = source[len('hf-hub:'):]
    cache = osp.join(cache_root(), 'hub')
    endpoint = os.environ.get('HF_ENDPOINT') or None
    last = None
    for filename in ('model.safetensors', 'pytorch_model.bin'):
        for attempt in range(2):
            try:
                path = hf_hub_download(repo, filename, cache_dir=cache, endpoint=endpoint,
                                       local_files_only=offline(),
                                       force_download=attempt > 0, etag_timeout=30)
            except Exception as exc:  # connection refused, 404, offline miss, ...
                if offline():
                    raise _SourceFailed(f'{source}: not in the cache and offline') from exc
                if isinstance(exc, EntryNotFoundError):
                    last = exc
                    break  # try the next file name
                raise _SourceFailed(f'{source}: {_reason(exc)}') from exc
            blob = osp.realpath(path)
            etag = osp.basename(blob)
            if not re.fullmatch(r'[0-9a-f]{64}', etag):
                return path, None  # not a sha256 ETag: nothing to check it against
            if sha256_of(blob) == etag:
                return path, etag
            _remove(blob)  # corrupt or truncated: fetched again once
            if osp.lexists(path):
                os.remove(path)
            last = f'sha256 of {filename} differs from the hub\'s ({etag[:12]}...)'
        else:
            raise _SourceFailed(f'{source}: {last}; removed it')
    raise _SourceFailed(f'{source}: no model.safetensors or pytorch_model.bin ({_reason(last)})')


def _fetch_url(source, progress):
    """A URL through torch.hub's downloader (a temporary file renamed when complete),
    checked against the sha256 the name pins or the one recorded at the first fetch.
    With ``REXNET_MM_MIRROR`` set, ``MIRROR/<file name>`` is fetched instead."""
    url = url_of(source)
    name = osp.basename(url.split('?')[0])
    mirror = os.environ.get('REXNET_MM_MIRROR')
    if mirror:
        url = f'{mirror.rstrip("/")}/{name}'
    folder = osp.join(cache_root(), 'downloads')
    os.makedirs(folder, exist_ok=True)
    dst = osp.join(folder, name)
    for stale in glob.glob(glob.escape(dst) + '.*.partial'):  # left by a killed fetch
        os.remove(stale)
    expected = pinned_sha256(name)
    if osp.isfile(dst):
        sha = sha256_of(dst)
        if _matches(sha, expected) and _recorded(dst) in (None, sha):
            return dst, sha
        _remove(dst)
    if offline():
        raise _SourceFailed(f'{source}: not in the cache and offline')
    import torch.hub
    for attempt in range(2):
        try:
            torch.hub.download_url_to_file(url, dst, progress=progress)
        except Exception as exc:
            raise _SourceFailed(f'{url}: {_reason(exc)}') from exc
        sha = sha256_of(dst)
        if _matches(sha, expected):
            _record(dst, sha)
            return dst, sha
        _remove(dst)
    raise _SourceFailed(f'{url}: sha256 {sha[:12]}... is not the pinned {expected}...; '
                        f'removed it')


def _reason(exc):
    text = str(exc).strip().splitlines()
    text = next((t for t in reversed(text) if t.strip()), type(exc).__name__)
    found = re.search(r'\[Errno -?\d+\] [^\'")]+|Connection refused|timed out|'
                      r'HTTP Error \d+[^\'"]*|\d{3} Client Error[^.]*', text)
    return (found.group(0) if found else text)[:160]


# ------------------------------------------------------------------ fetch
def _converted_ok(path):
    return osp.isfile(path) and _recorded(path) == sha256_of(path)


def _convert(raw, dst, family, source, raw_sha=None):
    """Convert the file ``raw`` (whose sha256 a fetcher may already have computed)
    to our layout at ``dst``, with its own sha256 recorded."""
    state, fmt = convert_state_dict(read_state_dict(raw), family)
    fam = FORMATS[fmt].family
    meta = dict(source=source, source_file=osp.basename(raw), source_format=fmt,
                source_sha256=raw_sha or sha256_of(raw), family=fam, layout='rexnet_mm',
                **input_meta(fam))
    save_checkpoint(state, dst, meta=meta)
    _record(dst, sha256_of(dst))
    return dst


def _lock(key):
    from filelock import FileLock
    folder = osp.join(cache_root(), 'locks')
    os.makedirs(folder, exist_ok=True)
    return FileLock(osp.join(folder, key + '.lock'))


def fetch(spec, progress=None, logger=None):
    """The local path of ``spec``'s weights in our layout, fetched and converted if they
    are not cached (see the module docstring); a local path is returned unchanged."""
    if not is_remote(spec):
        return spec
    family, sources = sources_of(spec)
    key = cache_key(spec)
    dst = osp.join(cache_root(), 'converted', key + '.pth')
    progress = sys.stderr.isatty() if progress is None else progress
    with _lock(key):
        if _converted_ok(dst):
            return dst
        _remove(dst)
        failures = []
        for manual in sorted(glob.glob(osp.join(glob.escape(cache_root()), 'manual',
                                                glob.escape(key) + '.*'))):
            try:
                return _convert(manual, dst, family, f'manual file {manual}')
            except CheckpointError as exc:
                raise WeightsUnavailable(f'{manual} (placed by hand for {spec}) is not '
                                         f'usable: {exc}') from None
        for source in sources:
            if source.startswith('manual:'):
                failures.append(f'{_file_name(source)} (a page for a browser)')
                continue
            try:
                raw, raw_sha = (_fetch_hub if source.startswith('hf-hub:') else _fetch_url)(
                    source, progress)
            except _SourceFailed as exc:
                failures.append(str(exc))
                continue
            try:
                path = _convert(raw, dst, family, source, raw_sha)
            except CheckpointError as exc:
                _remove(raw)
                failures.append(f'{source}: {exc}; removed it')
                continue
            if logger is not None:
                logger.info(f'{spec}: {source} -> {path}')
            return path
        raise WeightsUnavailable(unavailable_message(spec, sources, failures))


def unavailable_message(spec, sources, failures=()):
    """One line: what was tried and why it failed, and where to put a file by hand."""
    place = osp.join(cache_root(), 'manual', cache_key(spec))
    files = [_file_name(s) for s in sources]
    tried = f'tried: {"; ".join(failures)}. ' if failures else ''
    if not sources:
        return (f'no public download of {spec} is known: save a checkpoint of it (any '
                f'layout tools/convert_checkpoint.py reads) as {place}.pth, or train from '
                f'scratch with --cfg-options model.backbone.init_cfg=None')
    mode = ' (offline: REXNET_MM_OFFLINE/HF_HUB_OFFLINE is set)' if offline() else ''
    return (f'cannot fetch {spec}{mode}; {tried}Download {" or ".join(files)} and save it '
            f'as {place}.<its extension> (the layout is detected), or run `python '
            f'tools/fetch_weights.py {spec}` where the network reaches a source (or a '
            f'mirror: HF_ENDPOINT, REXNET_MM_MIRROR)')


def cached(spec):
    """Is ``spec`` converted in the cache (no request needed)?"""
    if not is_remote(spec):
        return osp.isfile(spec)
    return _converted_ok(osp.join(cache_root(), 'converted', cache_key(spec) + '.pth'))
