"""Format and family registries, reading, converting and loading of checkpoints.

A *format* is a small object with

* ``name`` (str) and ``family`` ('rexnet' or 'regnet'),
* ``detect(state_dict) -> bool``: does this state dict use the format,
* ``convert(state_dict) -> dict``: the same tensors in our layout
  (``backbone.*`` and ``head.*``, see :mod:`rexnet_mm.weights`).

A *family* (:class:`WeightsFamily`) ties a backbone class to its formats and says, when
a checkpoint does not fit a model, which architecture each of them holds. Both register
themselves (:func:`register_format`, :func:`register_family`) in the family modules.
"""
import os.path as osp
from collections import OrderedDict

import torch

from ..errors import MissingFileError, UserError

FORMATS = OrderedDict()

#: Keys under which checkpoints of various tools keep their state dict.
_WRAPPER_KEYS = ('state_dict', 'model_state', 'model', 'module', 'state_dict_ema')


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used; the message says what to do."""


def register_format(fmt):
    """Register a format object (see module docstring); returns it."""
    if fmt.name in FORMATS:
        raise KeyError(f'checkpoint format {fmt.name!r} is already registered')
    FORMATS[fmt.name] = fmt
    return fmt


_RESOLVER = []


def register_resolver(resolve):
    """Set ``resolve(spec) -> local path``, through which :func:`read_state_dict` reads
    names that are not local paths (``rexnet_mm://NAME``, hub ids, URLs):
    :mod:`.download` registers its ``fetch`` when :mod:`rexnet_mm.weights` is imported."""
    _RESOLVER[:] = [resolve]
    return resolve


def read_state_dict(path):
    """Read a checkpoint file and return its flat ``{name: tensor}`` dict.

    ``path`` may also name weights (``rexnet_mm://rexnet-1.0``, ``hf-hub:...``, a URL):
    they are fetched and converted first (:mod:`.download`). Reads torch files and
    safetensors. Unwraps the containers used by mmengine (``state_dict``), pycls
    (``model_state``) and others, and strips a DataParallel ``module.`` prefix.
    Loading stays weights-only: a file that needs arbitrary code to unpickle is
    refused.
    """
    path = _RESOLVER[0](path) if _RESOLVER else path
    if not osp.isfile(path):
        raise MissingFileError(
            f'checkpoint {path!r} does not exist: name the weights instead '
            f'(rexnet_mm://rexnet-1.0, `python tools/fetch_weights.py --list`) or convert '
            f'a file with tools/convert_checkpoint.py (docs/checkpoints.md)')
    try:
        obj = _load_safetensors(path) if _is_safetensors(path) else torch.load(
            path, map_location='cpu', weights_only=True)
    except Exception as exc:  # corrupt, truncated or not a torch file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f'cannot read checkpoint {path!r} ({first}); re-download it or '
            f'point to a .pth/.pt file saved by torch') from exc
    for _ in range(3):
        if isinstance(obj, dict):
            inner = next((obj[k] for k in _WRAPPER_KEYS
                          if k in obj and isinstance(obj[k], dict)), None)
            if inner is not None and not any(torch.is_tensor(v) for v in obj.values()):
                obj = inner
                continue
        break
    if not isinstance(obj, dict) or not any(torch.is_tensor(v) for v in obj.values()):
        raise CheckpointError(
            f'checkpoint {path!r} holds no state dict of tensors; expected a '
            f'model checkpoint (authors\', timm, pycls, mmdet or rexnet_mm layout)')
    state = OrderedDict((k, v) for k, v in obj.items() if torch.is_tensor(v))
    if all(k.startswith('module.') for k in state):
        state = OrderedDict((k[len('module.'):], v) for k, v in state.items())
    return state


def _is_safetensors(path):
    """A safetensors file: an 8-byte little-endian header length, then a JSON header."""
    with open(path, 'rb') as f:
        head = f.read(9)
    return (len(head) == 9 and head[8:9] == b'{'
            and int.from_bytes(head[:8], 'little') < osp.getsize(path))


def _load_safetensors(path):
    from safetensors.torch import load_file
    return load_file(path, device='cpu')


def detect_format(state_dict, family=None):
    """Name of the registered format that matches ``state_dict``."""
    candidates = [f for f in FORMATS.values()
                  if family is None or f.family in (family, 'any')]
    for fmt in candidates:
        if fmt.detect(state_dict):
            return fmt.name
    known = ', '.join(f.name for f in candidates)
    sample = ', '.join(list(state_dict)[:3])
    raise CheckpointError(
        f'unrecognised checkpoint layout (first keys: {sample}); known '
        f'{family or "all"} layouts: {known}')


def convert_state_dict(state_dict, family=None):
    """Return ``(state_dict_in_our_layout, format_name)``."""
    name = detect_format(state_dict, family)
    return FORMATS[name].convert(state_dict), name


def save_checkpoint(state_dict, path, meta=None):
    """Write an mmengine-style checkpoint atomically (:func:`rexnet_mm.fixes.atomic_path`:
    fsynced, then renamed over ``path``; an interrupted write leaves ``path`` as it was)."""
    from ..fixes import atomic_path
    with atomic_path(osp.abspath(path)) as tmp:
        torch.save({'meta': dict(meta or {}), 'state_dict': state_dict}, tmp)


class WeightsFamily:
    """What the weights layer knows of one backbone family.

    A subclass sets ``name`` (the ``family`` of its formats) and ``model_class``, and
    implements ``identify(weights)`` (the architecture that backbone tensors in our
    layout, without the ``backbone.`` prefix, hold), ``describe(model)`` and
    ``hint(model, weights)`` (how to make model and checkpoint agree); optionally
    ``plan(weights)``, the backbone arguments that build exactly the checkpoint's net.
    """

    name = model_class = None

    def identify(self, weights):
        raise NotImplementedError

    def describe(self, model):
        raise NotImplementedError

    def hint(self, model, weights=None):
        return (f"build the model with the checkpoint's architecture or use a checkpoint "
                f"of {self.describe(model)}")


FAMILIES = OrderedDict()


def register_family(family):
    """Register a :class:`WeightsFamily` instance; returns it."""
    if family.name in FAMILIES:
        raise KeyError(f'weights family {family.name!r} is already registered')
    FAMILIES[family.name] = family
    return family


def family_of(model):
    """The registered family whose backbone class ``model`` is an instance of."""
    for family in FAMILIES.values():
        if isinstance(model, family.model_class):
            return family
    raise CheckpointError(f'no checkpoint family knows {type(model).__name__}; known: '
                          f'{", ".join(f.model_class.__name__ for f in FAMILIES.values())}')


def load_backbone_weights(backbone, path, logger=None):
    """Load any supported checkpoint into a backbone module.

    The classifier (``head.*``) and anything that is not part of the backbone is
    ignored; every backbone tensor must be present with the right shape, or a
    :class:`CheckpointError` names the architecture the file holds and the model's.
    """
    family = family_of(backbone)
    state, fmt = convert_state_dict(read_state_dict(path), family.name)
    prefix = 'backbone.'
    weights = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                          if k.startswith(prefix))
    own = backbone.state_dict()
    # BN counters are not weights; older checkpoints (and pycls) omit them.
    missing = [k for k in own if k not in weights
               and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in weights if k not in own]
    wrong = [k for k in own if k in weights and own[k].shape != weights[k].shape]
    if missing or unexpected or wrong:
        found, model = family.identify(weights), family.describe(backbone)
        detail = (f'the checkpoint holds {found} but the model is {model}'
                  if found != model else
                  f'{len(missing)} missing, {len(unexpected)} unexpected and {len(wrong)} '
                  f'mis-shaped tensors (first: {(missing + unexpected + wrong)[:3]})')
        hint = family.hint(backbone, weights)
        raise CheckpointError(f'checkpoint {path!r} ({fmt} layout) does not fit '
                              f'{type(backbone).__name__}: {detail}; {hint}')
    backbone.load_state_dict(weights, strict=False)
    if logger is not None:
        logger.info(f'loaded {len(weights)} backbone tensors from {path} ({fmt} layout)')
    return fmt
