"""configs/<folder>/metafile.yml and configs/model-index.yml: one entry per shipped config,
parameters/FLOPs as the repo's own counter measures them, published numbers only with
their source and as stated in docs/reference.md."""
import glob
import os.path as osp
import re

import pytest
import yaml

from rexnet_mm.analysis import metafiles

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')


def _load(folder):
    with open(metafiles.metafile_path(CONFIGS, folder)) as f:
        return yaml.safe_load(f)


def test_model_index_imports_every_folder_metafile():
    with open(osp.join(CONFIGS, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert index['Import'] == [f'configs/{f}/metafile.yml' for f in metafiles.FOLDERS]
    for path in index['Import']:
        assert osp.exists(osp.join(ROOT, path)), path


@pytest.mark.parametrize('folder', list(metafiles.FOLDERS))
def test_one_entry_per_shipped_config(folder):
    models = _load(folder)['Models']
    listed = [m['Config'] for m in models]
    shipped = [osp.relpath(p, ROOT) for p in metafiles.shipped_configs(CONFIGS, folder)]
    assert sorted(listed) == sorted(shipped)
    assert len({m['Name'] for m in models}) == len(models)
    for m in models:
        assert osp.exists(osp.join(ROOT, m['README'])), m['README']
        assert m['Metadata']['Parameters'] > 0 and m['Metadata']['FLOPs'] > 0


def test_published_results_are_sourced_and_in_the_reference_doc():
    reference = open(osp.join(ROOT, 'docs', 'reference.md')).read()
    found = 0
    for folder in metafiles.FOLDERS:
        for m in _load(folder)['Models']:
            for r in m.get('Results', []):
                assert r['Source'].startswith('published: ') and 'not reproduced' in r['Source']
                for value in r['Metrics'].values():
                    assert re.search(rf'\b{value}\b', reference), (m['Name'], value)
                    found += 1
    assert found >= 10


def test_distillation_entries_are_their_students_built_alone():
    """A distillation config's entry states its student's numbers: equal to those of the
    plain student config's own entry (measured from that file, no wrapper involved), so a
    count that included the teacher or the wrapper's adapters fails; and it names the
    teacher's config (a shipped file) and the wrapper."""
    from mmengine.config import Config
    entries = {m['Name']: m for f in metafiles.FOLDERS for m in _load(f)['Models']}
    pairs = [('cwd_ssdlite_rexnet-1.0_to_rexnet-0.5_shapes', 'ssdlite_rexnet-0.5_shapes'),
             ('kd_regnety-1.6gf_to_rexnet-1.0_synthetic-birds', 'rexnet-1.0_synthetic-birds')]
    for wrapper, student in pairs:
        meta, plain = entries[wrapper]['Metadata'], entries[student]['Metadata']
        for key in ('Parameters', 'FLOPs', 'Input Size', 'Architecture', 'Training Data'):
            assert meta[key] == plain[key], (wrapper, key)
        model = Config.fromfile(osp.join(ROOT, entries[wrapper]['Config'])).model
        assert meta['Teacher'] == model.teacher_config
        assert osp.isfile(osp.join(ROOT, meta['Teacher'])), meta['Teacher']
        assert meta['Distiller'] == model.type and model.type.endswith('Distiller')
        assert 'Teacher' not in plain and 'Distiller' not in plain


@pytest.mark.slow
@pytest.mark.parametrize('stem', ['ssdlite_rexnet', 'rexnet-1.0_4xb128_in1k',
                                  'cwd_ssdlite_rexnet-1.0_to_rexnet-0.5_shapes'])
def test_measured_metadata_is_current(stem):
    """Re-measure three cheap configs: a changed model without a regenerated metafile
    fails; the distillation config measures without its teacher's checkpoint (absent on a
    fresh clone: the teacher is not built)."""
    path = next(p for p in glob.glob(osp.join(CONFIGS, '**', stem + '.py'), recursive=True))
    params, flops, size = metafiles.measure(path)
    entry = next(m for f in metafiles.FOLDERS for m in _load(f)['Models'] if m['Name'] == stem)
    assert entry['Metadata']['Parameters'] == params
    assert entry['Metadata']['FLOPs'] == flops
    assert entry['Metadata']['Input Size'] == size
