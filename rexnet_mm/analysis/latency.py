"""Latency-aware design: the configuration of a family with the most FLOPs that runs
within a measured-latency budget on a runtime of this machine
(``python tools/analysis/design.py rexnet --latency-ms 30 --runtime ort --batch 1``).

FLOPs mislead about speed, most for depthwise-heavy networks (docs/deploy.md: ReXNet-1.0
runs at 14-28% of this CPU's matmul peak, RegNetX-3.2GF at up to 68%), so the
candidates are timed, whole, on the runtime asked for (MnasNet's and FBNet's point; a
per-block lookup table like OFA's is the cheaper alternative, docs/design.md says why it
is not used here). The steps (:func:`latency_design`):

1. the family's design space as the FLOPs tool samples it (:mod:`.design`), within the
   ``--flops`` / ``--params`` upper bounds if given;
2. the family's reference (a published model: ReXNet-v1 x1.0, RegNetX/Y-400MF) is timed
   and its FLOP rate turns the budget into FLOPs, ``F_T``: what a FLOPs-only design
   assumes. The **FLOPs-optimal** choice is the FLOPs tool's answer for ``F_T``
   (``design.py --flops F_T``, first row);
3. ``measure`` candidates are timed, in two rounds: the FLOPs-optimal one, the
   reference and a diverse subset of those within 2x of ``F_T`` (every depth /
   group-width class, each spread over its FLOPs); then a third of ``measure`` in three
   rounds: the candidates each class's measurements so far predict to have the most
   FLOPs within the budget (:func:`refinement`: a line in FLOPs per class, refitted every
   round), wherever they are in the space;
4. the **latency-optimal** choice is the measured candidate with the most FLOPs (the
   tool's one notion of capacity; it knows no accuracies) whose latency is within the
   budget; the Pareto front of measured latency vs FLOPs is printed with both choices.

Timing: each candidate as a classifier (1000 classes, 224x224, random weights,
:func:`~.parity.randomize_`; BN folded, the input normalisation in front as in
:class:`~rexnet_mm.deploy.graphs.ClassifierExport`), eager PyTorch (the backbones run
channels-last on the CPU by themselves), ONNX Runtime or OpenVINO on the exported ONNX
graph; all candidates of one run round-robin (:func:`.benchmark.median_times`), so that
a change of load hits them alike. The timer is an argument (tests pass a table).

Cache: ``$REXNET_MM_CACHE/latency/`` (next to the weights cache), one JSON file per
measuring environment (runtime, batch, threads, input size, CPU model, torch and
runtime versions), candidate -> seconds, written atomically; a rerun times only what is
missing.
"""
import bisect
import hashlib
import importlib
import json
import math
import os.path as osp
import platform
import tempfile
from collections import defaultdict

from ..errors import ExistingFileError, InvalidValueError, UserError
from ..fixes import atomic_path, atomic_write
from .design import rank_candidates, regnet_space, rexnet_space

RUNTIMES = ('torch', 'ort', 'openvino')
_MODULES = {'torch': 'torch', 'ort': 'onnxruntime', 'openvino': 'openvino'}
_PIP = {'torch': 'torch', 'ort': 'onnxruntime', 'openvino': 'openvino'}
#: input size of the timed classifiers (and of the FLOPs counts)
SIZE = 224
#: candidates measured are within this factor of the budget's FLOPs (F_T)
BAND = 2.0
#: the refinement's third of the measurements is taken in this many rounds
REFINE_ROUNDS = 3


# --------------------------------------------------------------------------
# environment and cache
# --------------------------------------------------------------------------
def runtime_version(runtime):
    """The installed version of ``runtime``'s package; a one-line error if missing."""
    if runtime not in RUNTIMES:
        raise InvalidValueError(f'unknown runtime {runtime!r}: choose one of '
                                f'{", ".join(RUNTIMES)}')
    try:
        module = importlib.import_module(_MODULES[runtime])
    except ImportError:
        others = ', '.join(r for r in RUNTIMES if r != runtime)
        raise UserError(f'--runtime {runtime}: {_MODULES[runtime]} is not installed: '
                        f'pip install {_PIP[runtime]}, or choose {others}') from None
    return str(module.__version__)


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(runtime, batch, threads, size=SIZE):
    """What a latency depends on besides the network: the cache's key."""
    import torch
    env = dict(runtime=runtime, batch=batch, threads=threads, size=size, cpu=cpu_model(),
               torch=torch.__version__)
    if runtime != 'torch':
        env[runtime] = runtime_version(runtime)
    return env


def latency_cache_dir():
    """``$REXNET_MM_CACHE/latency`` (default ``~/.cache/rexnet_mm/latency``)."""
    from ..weights.download import cache_root
    return osp.join(osp.dirname(cache_root()), 'latency')


def candidate_key(row):
    """The network of a design row, as a string (what its latency depends on)."""
    if row['family'] == 'ReXNet':
        spec = dict(family='rexnet', arch=row['arch'], widen_factor=row['widen_factor'],
                    depth_mult=row['depth_mult'])
    else:
        spec = dict(family='regnet', **row['arch'])
    return json.dumps(spec, sort_keys=True)


class LatencyCache:
    """Measured seconds per :func:`candidate_key` for one :func:`environment`, in
    ``root/<runtime>-b<batch>-t<threads>-<hash of the environment>.json``."""

    def __init__(self, env, root=None):
        self.env = env
        digest = hashlib.sha1(json.dumps(env, sort_keys=True).encode()).hexdigest()[:12]
        self.path = osp.join(root or latency_cache_dir(),
                             f"{env['runtime']}-b{env['batch']}-t{env['threads']}-"
                             f"{digest}.json")
        self.seconds = self._read()

    def _read(self):
        try:
            with open(self.path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}  # none yet, or unreadable: measured again and rewritten whole
        return dict(data.get('seconds', {})) if data.get('env') == self.env else {}

    def save(self):
        """Write the file whole (others' entries written meanwhile are kept)."""
        merged = dict(self._read(), **self.seconds)
        atomic_write(json.dumps(dict(env=self.env, seconds=merged), indent=1,
                                sort_keys=True), self.path)
        self.seconds = merged


def measure(rows, cache, timer):
    """Seconds of every row: from ``cache``, else timed by ``timer(rows) -> [seconds]``
    (all missing rows in one call) and cached."""
    missing, seen = [], set()
    for r in rows:
        key = candidate_key(r)
        if key not in cache.seconds and key not in seen:
            missing.append(r)
            seen.add(key)
    if missing:
        seconds = list(timer(missing))
        if len(seconds) != len(missing):
            raise ValueError(f'the timer gave {len(seconds)} times for {len(missing)} rows')
        cache.seconds.update({candidate_key(r): float(s) for r, s in zip(missing, seconds)})
        cache.save()
    return [cache.seconds[candidate_key(r)] for r in rows]


# --------------------------------------------------------------------------
# timing on a runtime
# --------------------------------------------------------------------------
def build_candidate(row):
    """The design row as an inference graph: a classifier with random weights, BN
    folded, the family's input normalisation in front (image in, scores out)."""
    from mmpretrain.models import ClsDataPreprocessor

    from ..deploy.graphs import ClassifierExport
    from ..models.classifiers import build_regnet_classifier, build_rexnet_classifier
    from ..models.fusion import fuse_bn
    from ..models.normalization import cls_preprocessor
    from .parity import REGNET_RANDOM, randomize_
    if row['family'] == 'ReXNet':
        family, rand = 'rexnet', {}
        model = build_rexnet_classifier(row['widen_factor'], row['arch'],
                                        depth_mult=row['depth_mult'])
    else:
        family, rand = 'regnet', REGNET_RANDOM
        model = build_regnet_classifier(dict(row['arch']))
    randomize_(model, seed=0, **rand)
    model.data_preprocessor = ClsDataPreprocessor(
        **{k: v for k, v in cls_preprocessor(family).items() if k != 'type'})
    fuse_bn(model)
    return ClassifierExport(model).eval()


def runtime_call(graph, image, runtime, threads, tmp):
    """A no-argument callable running ``graph`` on ``image`` with ``runtime`` (ONNX
    Runtime and OpenVINO run the ONNX export, written under ``tmp``). The one place
    that knows the runtimes' APIs."""
    if runtime == 'torch':
        return lambda: graph(image)
    from ..deploy.export import export_onnx
    from ..deploy.runtimes import feed_of, session
    path = osp.join(tmp, f'{id(graph)}.onnx')
    export_onnx(graph, image, path)
    # the sessions tools/deploy.py and the speed benchmark use (deploy/runtimes.py), not
    # kept in its cache: each candidate is a new file
    compiled = session(path, runtime, threads, cache=False)
    feed = feed_of(compiled, image)
    return lambda: compiled.run(feed)


def runtime_timer(runtime, batch, threads, repeats=20, size=SIZE, bar=True):
    """``timer(rows) -> [seconds]`` for :func:`measure`: every row built and timed on
    ``runtime``, all rows round-robin, median of ``repeats``."""
    def timer(rows):
        import torch

        from ..utils import progress_bar
        from .benchmark import median_times
        torch.set_num_threads(threads)
        image = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
        image = image * 255
        with tempfile.TemporaryDirectory() as tmp:
            fns = []
            for row in rows:
                with torch.no_grad():
                    fns.append(runtime_call(build_candidate(row), image, runtime, threads,
                                            tmp))
            return median_times(fns, repeats, progress_bar(repeats, bar))
    return timer


# --------------------------------------------------------------------------
# selection
# --------------------------------------------------------------------------
def pareto_front(rows, seconds):
    """The rows no other row beats on both latency (lower) and FLOPs (higher), by
    increasing latency."""
    front, best = [], -math.inf
    for r, _ in sorted(zip(rows, seconds), key=lambda p: (p[1], -p[0]['flops'])):
        if r['flops'] > best:
            front.append(r)
            best = r['flops']
    return front


def latency_choice(rows, seconds, budget_s):
    """The row with the most FLOPs whose latency is within ``budget_s`` (ties: the
    faster), or None."""
    feasible = [(r, s) for r, s in zip(rows, seconds) if s <= budget_s]
    if not feasible:
        return None
    return max(feasible, key=lambda p: (p[0]['flops'], -p[1]))[0]


def _group(row):
    """Where FLOPs and latency part: ReXNet's depth multiplier (per arch), RegNet's group
    width (depthwise-like <= 8, <= 48, wider)."""
    if row['family'] == 'ReXNet':
        return (row['arch'], row['depth_mult'])
    return (bisect.bisect_left((8, 48), row['arch']['group_w']), )


def _spread(n):
    """Indices ``0..n-1`` in van der Corput order (middle, quarters, eighths...): any
    prefix is spread over the range."""
    order, k = [], 1
    while len(order) < n:
        x, f, j = 0.0, 0.5, k
        while j:
            x, f, j = x + f * (j & 1), f / 2, j >> 1
        i = int(x * n)
        if i not in order:
            order.append(i)
        k += 1
        if k > 4 * n + 4:  # every multiple of 1/2^m is reached; the rest in order
            order += [i for i in range(n) if i not in order]
    return order


def diverse_subset(rows, n):
    """``n`` rows taken round-robin over the groups (:func:`_group`), each group's rows
    spread over their FLOPs."""
    groups = defaultdict(list)
    for r in rows:
        groups[_group(r)].append(r)
    queues = []
    for key in sorted(groups):
        g = sorted(groups[key], key=lambda r: r['flops'])
        queues.append([g[i] for i in _spread(len(g))])
    return _round_robin(queues, n)


def _round_robin(queues, n):
    """Up to ``n`` items, one from each queue in turn (the queues are emptied)."""
    out = []
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out


def predictor(rows, seconds):
    """``predict(row) -> seconds or None`` from the measured rows of its group
    (:func:`_group`): a least-squares line in FLOPs through them (fixed cost + cost per
    FLOP) where it rises, else the ratio of the one nearest in FLOPs; None for a group
    with none measured."""
    groups = defaultdict(list)
    for r, s in zip(rows, seconds):
        groups[_group(r)].append((r['flops'], s))
    lines = {}
    for g, pts in groups.items():
        n = len(pts)
        mf, ms = sum(f for f, _ in pts) / n, sum(s for _, s in pts) / n
        var = sum((f - mf) ** 2 for f, _ in pts)
        slope = sum((f - mf) * (s - ms) for f, s in pts) / var if var > 0 else 0
        if slope > 0:
            lines[g] = (ms - slope * mf, slope)

    def predict(row):
        g = _group(row)
        if g in lines:
            return max(lines[g][0] + lines[g][1] * row['flops'], 0.0)
        if g not in groups:
            return None
        f0, s0 = min(groups[g], key=lambda p: abs(math.log(p[0] / row['flops'])))
        return s0 * row['flops'] / f0
    return predict


def refinement(space, rows, seconds, budget_s, n):
    """Up to ``n`` unmeasured rows of ``space`` to measure next: per group, those with
    the most FLOPs predicted (:func:`predictor`) within the budget, taken round-robin
    over the groups (the most promising group first)."""
    if n <= 0:
        return []
    predict, measured = predictor(rows, seconds), {candidate_key(r) for r in rows}
    groups = defaultdict(list)
    for r in space:
        t = predict(r)
        if t is not None and t <= budget_s and candidate_key(r) not in measured:
            groups[_group(r)].append(r)
    queues = sorted((sorted(g, key=lambda r: -r['flops']) for g in groups.values()),
                    key=lambda q: -q[0]['flops'])
    return _round_robin(queues, n)


def reference(space):
    """The published model that calibrates the FLOPs proxy: ReXNet-v1 x1.0, or the
    family's 400MF RegNet."""
    for r in space:
        if (r['family'] == 'ReXNet' and r['published'] and r['arch'] == 'v1'
                and r['widen_factor'] == 1.0) or r.get('zoo') in ('regnetx_400mf',
                                                                  'regnety_400mf'):
            return r
    raise ValueError('the design space has no reference model')


def latency_design(family, latency_ms, runtime, batch=1, threads=2, measure_n=24,
                   flops_max=None, params_max=None, samples=20000, seed=0, tolerance=0.05,
                   repeats=20, timer=None, cache_root=None, bar=False,
                   archs=('v1', 'lite')):
    """Both choices for a latency budget (module docstring), as a dict: ``measured``
    (rows), ``seconds`` (theirs), ``front``, ``flops_choice``, ``latency_choice``,
    ``reference``, ``reference_s`` (timed alone), ``flops_at_budget``, ``together`` (the
    two choices timed in one run), ``env``, ``cache``."""
    if not latency_ms > 0:
        raise InvalidValueError(f'--latency-ms must be positive, got {latency_ms}')
    for name, value, low in (('--batch', batch, 1), ('--threads', threads, 1),
                             ('--measure', measure_n, 2), ('--repeats', repeats, 1)):
        if value < low:
            raise InvalidValueError(f'{name} must be at least {low}, got {value}')
    if family not in ('rexnet', 'regnetx', 'regnety'):
        raise InvalidValueError(f'a latency budget needs one family: rexnet, regnetx or '
                                f'regnety, not {family!r}')
    env = environment(runtime, batch, threads)
    cache = LatencyCache(env, cache_root)
    timer = timer or runtime_timer(runtime, batch, threads, repeats, bar=bar)
    space = (rexnet_space(archs) if family == 'rexnet'
             else regnet_space(family == 'regnety', samples, seed))
    within = [r for r in space if (flops_max is None or r['flops'] <= flops_max)
              and (params_max is None or r['params'] <= params_max)]
    if not within:
        raise InvalidValueError(
            f'no {family} candidate within --flops/--params: the smallest has '
            f"{min(r['flops'] for r in space) / 1e9:.3f} GFLOPs and "
            f"{min(r['params'] for r in space) / 1e6:.2f}M params")
    ref = reference(space if 'v1' in archs or family != 'rexnet' else rexnet_space(('v1', )))
    ref_s = measure_alone(ref, cache, timer)
    flops_at_budget = ref['flops'] * latency_ms / 1000 / ref_s
    flops_choice = rank_candidates(within, flops_at_budget, None, tolerance)[0]

    # the FLOPs-optimal and the reference (again, round-robin), then a spread near F_T
    rows = [flops_choice]
    if ref is not flops_choice and any(r is ref for r in within):
        rows.append(ref)

    def distance(r):
        return abs(math.log(r['flops'] / flops_at_budget))
    rest = [r for r in within if not any(r is c for c in rows)]
    band = [r for r in rest if distance(r) <= math.log(BAND)]
    if len(band) < measure_n:
        band = sorted(rest, key=distance)[:measure_n]
    refine = measure_n // 3
    rows += diverse_subset(band, measure_n - refine - len(rows))
    seconds = measure(rows, cache, timer)
    budget_s = latency_ms / 1000
    # then rounds where each group's measurements so far predict the most FLOPs within
    # the budget (each round refits the lines with the last one's measurements)
    step = max(1, -(-refine // REFINE_ROUNDS))
    while refine > 0:
        extra = refinement(within, rows, seconds, budget_s, min(step, refine))
        if not extra:
            break
        rows += extra
        seconds += measure(extra, cache, timer)
        refine -= len(extra)
    chosen = latency_choice(rows, seconds, budget_s)
    if chosen is None:
        fastest = min(range(len(rows)), key=seconds.__getitem__)
        raise InvalidValueError(
            f'no measured candidate runs within {latency_ms:g} ms ({runtime}, batch '
            f'{batch}, {threads} threads): the fastest measured is {row_name(rows[fastest])} '
            f'at {1000 * seconds[fastest]:.1f} ms; raise --latency-ms')
    return dict(family=family, budget_ms=latency_ms, env=env, cache=cache.path,
                repeats=repeats, measured=rows, seconds=seconds,
                front=pareto_front(rows, seconds), flops_choice=flops_choice,
                latency_choice=chosen, reference=ref, reference_s=ref_s,
                flops_at_budget=flops_at_budget,
                together=measure_together(chosen, flops_choice, cache, timer))


def measure_alone(row, cache, timer):
    """Seconds of ``row`` timed by itself (the reference, before anything else is
    chosen), cached apart from its round-robin timing: a network timed alone can keep
    its weights in the CPU's caches, one timed round-robin with others cannot, so the
    tables compare round-robin times only."""
    key = json.dumps(dict(alone=candidate_key(row)))
    if key not in cache.seconds:
        cache.seconds[key] = float(timer([row])[0])
        cache.save()
    return cache.seconds[key]


def measure_together(a, b, cache, timer):
    """Seconds of ``a`` and ``b`` timed in one run (round-robin: the same load on both;
    the rounds above may have run under different loads), cached; None if ``a is b``."""
    if a is b:
        return None
    key = json.dumps(dict(together=[candidate_key(a), candidate_key(b)]))
    if key not in cache.seconds:
        cache.seconds[key] = [float(s) for s in timer([a, b])]
        cache.save()
    return cache.seconds[key]


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
def row_name(r):
    if r['family'] == 'ReXNet':
        return (f"ReXNet-{r['arch']} x{r['widen_factor']} d{r['depth_mult']}"
                + (' (published)' if r['published'] else ''))
    a = r['arch']
    return (f"{r['family']} {r['zoo']}" if r['zoo'] else
            f"{r['family']} w0={a['w0']} wa={a['wa']} wm={a['wm']} d={a['depth']} "
            f"g={a['group_w']}")


def format_latency(res):
    """The Pareto front and both choices as markdown, with the measuring conditions."""
    env, ms = res['env'], {candidate_key(r): 1000 * s
                           for r, s in zip(res['measured'], res['seconds'])}
    versions = ', '.join(f'{k} {env[k]}' for k in ('torch', 'ort', 'openvino') if k in env)
    lat, flo, ref = res['latency_choice'], res['flops_choice'], res['reference']
    ref_ms = 1000 * res['reference_s']
    lines = [f"{res['family']} on {env['runtime']}, batch {env['batch']}, {env['size']}x"
             f"{env['size']}, {env['threads']} threads, {env['cpu']} ({versions}); "
             f"{len(res['measured'])} candidates, median of {res['repeats']} round-robin "
             f"repeats (cache {res['cache']})",
             f"Reference {row_name(ref)}: {ref_ms:.1f} ms timed alone for "
             f"{ref['flops'] / 1e9:.3f} GFLOPs, so {res['budget_ms']:g} ms is "
             f"{res['flops_at_budget'] / 1e9:.3f} GFLOPs at its FLOP rate", '',
             '| model | GFLOPs | params (M) | ms | on front | choice | config |',
             '|---|---|---|---|---|---|---|']
    front_keys = {candidate_key(r) for r in res['front']}
    shown = list(res['front']) + ([flo] if candidate_key(flo) not in front_keys else [])
    for r in sorted(shown, key=lambda r: ms[candidate_key(r)]):
        key = candidate_key(r)
        marks = [m for m, c in (('latency-optimal', lat), ('FLOPs-optimal', flo)) if c is r]
        lines.append(f"| {row_name(r)} | {r['flops'] / 1e9:.3f} | {r['params'] / 1e6:.2f} | "
                     f"{ms[key]:.1f} | {'yes' if key in front_keys else 'no'} | "
                     f"{', '.join(marks) or '-'} | `{r['snippet']}` |")
    lat_ms, flo_ms = ms[candidate_key(lat)], ms[candidate_key(flo)]
    lines += ['', f"latency-optimal (most FLOPs within {res['budget_ms']:g} ms): "
              f"{row_name(lat)}, {lat_ms:.1f} ms, {lat['flops'] / 1e9:.3f} GFLOPs",
              f"FLOPs-optimal (design.py --flops {res['flops_at_budget'] / 1e9:.3f}G, first "
              f"row): {row_name(flo)}, {flo_ms:.1f} ms, {flo['flops'] / 1e9:.3f} GFLOPs, "
              + (f"{flo_ms / res['budget_ms']:.2f}x the budget" if flo_ms > res['budget_ms']
                 else 'within the budget')
              + ('' if flo is lat else
                 f"; the latency-optimal has {lat['flops'] / flo['flops']:.2f}x its FLOPs")]
    if res['together']:
        a, b = (1000 * s for s in res['together'])
        lines.append(f'timed together (one round-robin run): latency-optimal {a:.1f} ms, '
                     f'FLOPs-optimal {b:.1f} ms, ratio {a / b:.2f}')
    return '\n'.join(lines)


def check_plot_path(path, force=False):
    """Refuse to overwrite ``path`` without ``force`` (before anything is measured)."""
    if path and osp.exists(path) and not force:
        raise ExistingFileError(f'{path} exists: pass --force to overwrite it, or choose '
                                f'another --plot file')


def plot_latency(res, path):
    """Measured latency vs GFLOPs: every candidate (colour: depth), the Pareto front,
    the budget, the two choices and the reference; written whole (PNG)."""
    from .plots import _pyplot
    plt = _pyplot()
    rows, ms = res['measured'], [1000 * s for s in res['seconds']]
    by_key = dict(zip(map(candidate_key, rows), ms))
    fig, ax = plt.subplots(figsize=(7.5, 5.6))
    rex = rows[0]['family'] == 'ReXNet'
    depth = [r['depth_mult'] if rex else r['arch']['depth'] for r in rows]
    markers = {'v1': 'o', 'lite': '^'} if rex else {None: 'o'}
    sc = None
    for arch, marker in markers.items():
        idx = [i for i, r in enumerate(rows) if not rex or r['arch'] == arch]
        if idx:
            sc = ax.scatter([ms[i] for i in idx], [rows[i]['flops'] / 1e9 for i in idx],
                            c=[depth[i] for i in idx], cmap='viridis', marker=marker,
                            vmin=min(depth), vmax=max(depth), s=28,
                            label=f'ReXNet-{arch}' if rex else rows[0]['family'])
    fig.colorbar(sc, ax=ax, label='depth multiplier' if rex else 'depth')
    front = res['front']
    ax.step([by_key[candidate_key(r)] for r in front], [r['flops'] / 1e9 for r in front],
            where='post', color='k', lw=1, label='Pareto front')
    ax.axvline(res['budget_ms'], color='r', ls='--', lw=1,
               label=f"budget {res['budget_ms']:g} ms")
    for r, marker, label in ((res['latency_choice'], '*', 'latency-optimal'),
                             (res['flops_choice'], 'X', 'FLOPs-optimal'),
                             (res['reference'], 'D', 'reference')):
        ax.scatter([by_key[candidate_key(r)]], [r['flops'] / 1e9], marker=marker, s=160,
                   facecolors='none', edgecolors='r' if marker != 'D' else 'k',
                   label=f'{label}: {row_name(r)}')
    env = res['env']
    ax.set_xlabel(f"measured latency (ms), {env['runtime']}, batch {env['batch']}, "
                  f"{env['threads']} threads")
    ax.set_ylabel('GFLOPs (multiply-adds, 224x224)')
    ax.set_title(f"{res['family']}: measured latency vs FLOPs ({env['cpu']})", fontsize=10)
    ax.legend(fontsize=7, loc='upper center', bbox_to_anchor=(0.5, -0.13), ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png', dpi=110)
    plt.close(fig)
