"""The budget tool (rexnet_mm.analysis.design): its analytic costs equal the built models'
counts, it recovers the published models for their own budgets (the papers' and pycls'
numbers, docs/reference.md), and its RegNet samples lie in the paper's design space."""
import pytest

from rexnet_mm.analysis.complexity import conv_fc_macs, count_params, pycls_flops
from rexnet_mm.analysis.design import (parse_amount, regnet_candidates, regnet_cost,
                                       rexnet_candidates, rexnet_cost, sample_regnets)
from rexnet_mm.analysis.parity import REGNET_ZOO, REXNET_PAPER
from rexnet_mm.models.backbones.regnet import arch_stages
from rexnet_mm.models.classifiers import build_regnet_classifier, build_rexnet_classifier
from rexnet_mm.tools.design import main

# The ReXNet paper's MACs (docs/reference.md), v1 and lite
PAPER_MACS = {key: macs for key, (_, macs) in REXNET_PAPER.items()}


@pytest.mark.parametrize('width,arch,depth_mult', [(1.0, 'v1', 1.0), (1.3, 'lite', 1.0),
                                                   (0.9, 'v1', 1.3), (2.0, 'v1', 0.5)])
@pytest.mark.slow
def test_rexnet_cost_equals_built_model(width, arch, depth_mult):
    model = build_rexnet_classifier(width, arch, depth_mult=depth_mult).eval()
    assert rexnet_cost(width, arch, depth_mult) == (count_params(model), conv_fc_macs(model))


@pytest.mark.slow
def test_regnet_cost_equals_built_model():
    archs = ['regnetx_200mf', 'regnety_1.6gf']
    sampled = sample_regnets(2, se=True, seed=3)
    for arch in archs + [dict(p, se_ratio=0.25) for p, _ in sampled]:
        model = build_regnet_classifier(arch).eval()
        assert regnet_cost(arch_stages(arch)) == (count_params(model), pycls_flops(model))


@pytest.mark.parametrize('arch,width', sorted(PAPER_MACS))
def test_published_rexnet_recovered_for_its_budget(arch, width):
    best = rexnet_candidates(PAPER_MACS[arch, width], archs=(arch,), top=1)[0]
    assert (best['widen_factor'], best['depth_mult'], best['published']) == (width, 1.0, True)


@pytest.mark.parametrize('name', sorted(REGNET_ZOO))
def test_zoo_regnet_recovered_for_its_budget(name):
    """Asked for the zoo's published GFLOPs (and params), the tool lists that zoo model
    first: its analytic cost lies within 5% of the published one."""
    _, _, _, gflops, mparams = REGNET_ZOO[name]
    rows = regnet_candidates(gflops * 1e9, mparams * 1e6, se=name.startswith('regnety'),
                             samples=200, top=3)
    assert rows[0]['zoo'] == name
    assert rows[0]['stage_widths'] == list(REGNET_ZOO[name][1])
    assert rows[0]['depths'] == list(REGNET_ZOO[name][2])


@pytest.mark.slow
def test_samples_are_four_stage_design_space_points_and_meet_the_budget():
    a = sample_regnets(50, seed=1)
    assert a == sample_regnets(50, seed=1) and a != sample_regnets(50, seed=2)
    for p, plan in a:
        assert len(plan['widths']) == 4 and p['w0'] % 8 == 0 and 1.5 <= p['wm'] <= 3.0
        assert 12 <= p['depth'] <= 28 and sum(plan['depths']) == p['depth']
    rows = regnet_candidates(0.8e9, samples=3000, with_zoo=False, top=5)
    assert all(r['zoo'] is None and abs(r['flops'] / 0.8e9 - 1) < 0.05 for r in rows)


def test_cli(capsys):
    assert main(['rexnet', '--flops', '0.4G', '--top', '2']) == 0
    out = capsys.readouterr().out
    assert "widen_factor=1.0, depth_mult=1.0" in out and out.count('\n| ReXNet') == 2
    assert parse_amount('6M') == 6e6 and parse_amount('1.6e9') == 1.6e9
    with pytest.raises(SystemExit):
        main(['regnet', '--flops', 'lots'])
    assert 'cannot read' in capsys.readouterr().err
