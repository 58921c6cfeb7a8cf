"""The latency-budget design (rexnet_mm.analysis.latency, ``design.py --latency-ms``) on
fake latency tables: no timing here. The selection is checked against definitions
written out in the tests (domination by brute force, the FLOPs tool's own answer for the
budget's FLOPs), the cache by a round trip, the command line's one-line errors."""
import json
import sys

import pytest

from rexnet_mm.analysis import latency
from rexnet_mm.analysis.design import rexnet_candidates, rexnet_space
from rexnet_mm.tools.design import main


def _row(name, flops):
    return dict(family='ReXNet', arch='v1', widen_factor=name, depth_mult=1.0,
                flops=flops, params=1, published=False, snippet='')


def test_pareto_front_and_choice_on_a_hand_table():
    a, b, c, d, e, f = (_row(n, g) for n, g in
                        ((1, 1e9), (2, 0.9e9), (3, 2e9), (4, 1.5e9), (5, 2e9), (6, 3e9)))
    ms = [10, 12, 15, 15, 20, 25]  # b, d, e are dominated (e: same FLOPs as c, slower)
    rows, seconds = [e, b, f, a, d, c], [ms[i] / 1000 for i in (4, 1, 5, 0, 3, 2)]
    assert latency.pareto_front(rows, seconds) == [a, c, f]
    assert latency.latency_choice(rows, seconds, 0.016) is c
    assert latency.latency_choice(rows, seconds, 0.015) is c  # within = at most
    assert latency.latency_choice(rows, seconds, 0.0149) is a
    assert latency.latency_choice(rows, seconds, 0.009) is None


def _fake_law(row):
    """Seconds: deep ReXNets run fewer FLOPs per second (more, thinner layers), as on a
    CPU at batch 1; the published ReXNet-1.0 at 30 ms."""
    return row['flops'] * (0.5 + row['depth_mult']) / 0.398e9 / 1.5 * 0.030


class _Timer:
    def __init__(self):
        self.timed, self.calls = [], []

    def __call__(self, rows):
        self.calls.append(len(rows))
        self.timed += [latency.candidate_key(r) for r in rows]
        return [_fake_law(r) for r in rows]


def test_selection_on_a_fake_table_and_cached(tmp_path):
    timer = _Timer()
    res = latency.latency_design('rexnet', 36, 'torch', measure_n=24, timer=timer,
                                 cache_root=str(tmp_path))
    rows, seconds = res['measured'], res['seconds']
    assert seconds == [_fake_law(r) for r in rows] and len(rows) == 24
    # each timed once round-robin (the reference alone first); the choices together
    assert timer.calls[0] == 1 and timer.timed[0] in timer.timed[1:-2]
    assert len(timer.timed[1:-2]) == len(set(timer.timed[1:-2])) == 24
    assert timer.calls[-1] == 2
    assert res['together'] == [_fake_law(res['latency_choice']),
                               _fake_law(res['flops_choice'])]
    # FLOPs-optimal: the FLOPs tool's answer for the budget at the reference's FLOP rate
    # (ReXNet-1.0: 30 ms, so 36 ms is 1.2x its FLOPs)
    assert res['reference']['widen_factor'] == 1.0 and res['reference']['published']
    assert res['flops_at_budget'] == pytest.approx(1.2 * 0.398e9, rel=1e-2)
    expected = rexnet_candidates(res['flops_at_budget'], top=1)[0]
    assert res['flops_choice'] == expected and expected in rows
    # latency-optimal: within the budget, no measured row with more FLOPs is
    lat = res['latency_choice']
    assert _fake_law(lat) <= 0.036
    assert all(_fake_law(r) > 0.036 for r in rows if r['flops'] > lat['flops'])
    # the fake law is linear in FLOPs per group, so the refinement round finds the best
    # of the whole design space (brute force over it)
    assert lat == max((r for r in rexnet_space() if _fake_law(r) <= 0.036),
                      key=lambda r: r['flops'])
    # by the fake law the shallowest nets give the most FLOPs per ms: the two differ
    assert lat['depth_mult'] == 0.5 and lat['flops'] > 1.1 * expected['flops']
    # the front by its definition: no measured row is at least as fast with more FLOPs
    def dominated(r, s):
        return any(s2 <= s and r2['flops'] > r['flops'] for r2, s2 in zip(rows, seconds))
    assert [r for r in res['front']] == sorted(
        (r for r, s in zip(rows, seconds) if not dominated(r, s)),
        key=lambda r: _fake_law(r))
    assert lat in res['front']
    # the measured set spans every (arch, depth multiplier) group near the budget
    assert {(r['arch'], r['depth_mult']) for r in rows} == {
        (a, d) for a in ('v1', 'lite') for d in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)}
    # a rerun reads the cache and times nothing
    def refuse(rows):
        raise AssertionError(f'timed {len(rows)} rows again')
    again = latency.latency_design('rexnet', 36, 'torch', timer=refuse,
                                   cache_root=str(tmp_path))
    assert again['latency_choice'] == lat and again['seconds'] == seconds
    text = latency.format_latency(res)
    assert 'latency-optimal' in text and 'FLOPs-optimal' in text and lat['snippet'] in text


def _fixed_cost_law(row):
    """Seconds: a fixed cost per layer (deeper: more; v1's SE blocks: more) plus a cost
    per FLOP, as eager PyTorch measures at batch 1 (docs/design.md)."""
    per_layer = 0.012 * row['depth_mult'] * (1.3 if row['arch'] == 'v1' else 1.0)
    return per_layer + row['flops'] * 0.02e-9


@pytest.mark.parametrize('budget_ms', [30, 60])
def test_refinement_rounds_find_the_best_with_fixed_costs(tmp_path, budget_ms):
    """A fixed cost makes the reference's FLOP rate wrong for every other depth: the
    refinement rounds (lines refitted per group) still end at the design space's best,
    found by brute force over all 714 ReXNets."""
    res = latency.latency_design('rexnet', budget_ms, 'torch', timer=lambda rows: [
        _fixed_cost_law(r) for r in rows], cache_root=str(tmp_path))
    best = max((r for r in rexnet_space() if _fixed_cost_law(r) <= budget_ms / 1000),
               key=lambda r: r['flops'])
    assert res['latency_choice'] == best and len(res['measured']) == 24
    assert res['flops_choice'] != best


def test_cache_round_trip(tmp_path):
    env = latency.environment('torch', 1, 2)
    assert env['cpu'] and env['torch'] and env['size'] == 224
    cache = latency.LatencyCache(env, str(tmp_path))
    assert cache.seconds == {}
    cache.seconds['a'] = 0.01
    cache.save()
    other = latency.LatencyCache(env, str(tmp_path))  # another process, meanwhile
    other.seconds['b'] = 0.02
    other.save()
    cache.seconds['c'] = 0.03
    cache.save()
    assert latency.LatencyCache(env, str(tmp_path)).seconds == {'a': 0.01, 'b': 0.02,
                                                                'c': 0.03}
    with open(cache.path) as f:
        assert json.load(f)['env'] == env
    assert not list(tmp_path.glob('*.tmp-*'))
    # another environment is another table; an unreadable file is measured again
    assert latency.LatencyCache(dict(env, threads=1), str(tmp_path)).seconds == {}
    with open(cache.path, 'w') as f:
        f.write('{"env": ')
    assert latency.LatencyCache(env, str(tmp_path)).seconds == {}


def test_diverse_subset_spreads_over_groups_and_flops():
    assert sorted(latency._spread(13)) == list(range(13))
    assert latency._spread(9)[:3] == [4, 2, 6]  # middle, then quarters
    rows = [r for r in rexnet_space() if 0.3e9 <= r['flops'] <= 0.6e9]
    picked = latency.diverse_subset(rows, 14)
    assert len({latency._group(r) for r in picked}) == 14


def _error(capsys, argv, timer=None):
    with pytest.raises(SystemExit) as exc:
        main(argv, timer=timer)
    message = str(exc.value.code)
    assert message.startswith('error: ') and '\n' not in message
    return message


def test_cli_latency_budget(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('REXNET_MM_CACHE', str(tmp_path))
    plot = tmp_path / 'front.png'
    assert main(['rexnet', '--latency-ms', '36', '--runtime', 'torch', '--plot',
                 str(plot)], timer=_Timer()) == 0
    out = capsys.readouterr().out
    assert 'latency-optimal' in out and str(tmp_path / 'latency') in out
    assert plot.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert main(['rexnet', '--latency-ms', '36', '--runtime', 'torch', '--arch', 'v1'],
                timer=_Timer()) == 0
    out = capsys.readouterr().out
    assert 'ReXNet-v1' in out and 'ReXNet-lite' not in out
    assert 'pass --force' in _error(capsys, ['rexnet', '--latency-ms', '36', '--runtime',
                                             'torch', '--plot', str(plot)])
    assert 'must be positive' in _error(capsys, ['rexnet', '--latency-ms', '-5',
                                                 '--runtime', 'torch'])
    assert '--runtime' in _error(capsys, ['rexnet', '--latency-ms', '30'])
    assert 'regnetx or regnety' in _error(capsys, ['regnet', '--latency-ms', '30',
                                                   '--runtime', 'torch'])
    monkeypatch.setitem(sys.modules, 'openvino', None)  # import fails: not installed
    assert 'openvino is not installed' in _error(capsys, ['rexnet', '--latency-ms', '30',
                                                          '--runtime', 'openvino'])
    # below every candidate: the fastest measured, by the fake law, is named
    message = _error(capsys, ['rexnet', '--latency-ms', '1', '--runtime', 'torch'],
                     timer=_Timer())
    fastest = min(rexnet_space(), key=_fake_law)
    assert f'at {1000 * _fake_law(fastest):.1f} ms' in message
    assert f"x{fastest['widen_factor']} d{fastest['depth_mult']}" in message


@pytest.mark.slow
@pytest.mark.parity
def test_runtimes_time_the_same_network(tmp_path):
    """What each runtime is timed on gives the eager graph's scores (ONNX Runtime and
    OpenVINO run the exported file). Scores are softmax probabilities summing to 1:
    float32 graph rewrites (BN folded, fused kernels) differ by ~1e-6 of that."""
    import numpy as np
    import torch
    row = min(rexnet_space(), key=lambda r: r['flops'])
    graph = latency.build_candidate(row)
    image = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0)) * 255
    with torch.no_grad():
        ref = graph(image).numpy()
        outs = {rt: latency.runtime_call(graph, image, rt, 2, str(tmp_path))()
                for rt in latency.RUNTIMES}
    assert ref.shape == (2, 1000) and ref.max() > 2 / 1000  # not uniform: a real network
    np.testing.assert_allclose(outs['torch'].numpy(), ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(outs['ort'][0], ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(outs['openvino'][0]), ref, rtol=0, atol=1e-5)
