"""The config folders' ``metafile.yml`` files and the top-level ``model-index.yml``, in
OpenMMLab's model-index format (``tools/analysis/metafiles.py`` writes them).

Every entry names its config and, under ``Metadata``, the parameters and FLOPs measured
by :func:`rexnet_mm.analysis.complexity.config_complexity` (detectors, segmentors) or at
224x224 (classifiers). ``Results`` hold only other people's published numbers, each
marked by ``Source`` (the ReXNet paper, the authors' released weights, mmdet's model zoo):
rexnet_mm has no GPU to train on COCO, ADE20K, Cityscapes or ImageNet. The ImageNet
classifiers' ``Weights`` are the zoo's (``rexnet_mm://NAME``, fetched by
:mod:`rexnet_mm.weights.download`, so ``mmpretrain.get_model(name, pretrained=True)``
loads them); no trained file of the other configs exists yet.

A distillation config (``configs/distill``, ``model.type`` ``ClsDistiller`` /
``DetDistiller``) is described by its student, what its checkpoints hold and what deploys:
the numbers are the student's, built alone from ``model.student`` (the teacher is neither
built nor read, its checkpoint need not exist), and ``Metadata`` adds ``Teacher`` (the
teacher's config) and ``Distiller`` (the wrapper, i.e. the losses).
"""
import glob
import os.path as osp

PAPERS = {
    'ReXNet': dict(Title='Rethinking Channel Dimensions for Efficient Model Design',
                   URL='https://arxiv.org/abs/2007.00992'),
    'RegNet': dict(Title='Designing Network Design Spaces',
                   URL='https://arxiv.org/abs/2003.13678'),
}
#: Published results of these very recipes (docs/reference.md): config stem ->
#: [(task, dataset, metrics, source)].
PUBLISHED = {
    'faster-rcnn_rexnet-1.0_fpn_1x_coco': [
        ('Object Detection', 'COCO', {'box AP': 38.5}, 'ReXNet paper')],
    'faster-rcnn_rexnet-2.2_fpn_1x_coco': [
        ('Object Detection', 'COCO', {'box AP': 41.5}, 'ReXNet paper')],
    'faster-rcnn_regnetx-3.2gf_fpn_1x_coco': [
        ('Object Detection', 'COCO', {'box AP': 39.9},
         'mmdet model zoo (its regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco, the same model)')],
    'mask-rcnn_rexnet-1.0_fpn_1x_coco': [
        ('Object Detection', 'COCO', {'box AP': 38.9}, 'ReXNet paper'),
        ('Instance Segmentation', 'COCO', {'mask AP': 35.4}, 'ReXNet paper')],
    'mask-rcnn_rexnet-2.2_fpn_1x_coco': [
        ('Object Detection', 'COCO', {'box AP': 42.0}, 'ReXNet paper'),
        ('Instance Segmentation', 'COCO', {'mask AP': 37.8}, 'ReXNet paper')],
    'mask-rcnn_regnetx-3.2gf_fpn_1x_coco': [
        ('Object Detection', 'COCO', {'box AP': 40.3},
         'mmdet model zoo (its regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco, the same model)'),
        ('Instance Segmentation', 'COCO', {'mask AP': 36.6},
         'mmdet model zoo (its regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco, the same model)')],
    'rexnet-1.0_4xb128_in1k': [
        ('Image Classification', 'ImageNet-1k', {'Top 1 Accuracy': 77.9},
         "ReXNet paper (the authors' released weights)")],
    'rexnet-lite-1.0_4xb128_in1k': [
        ('Image Classification', 'ImageNet-1k', {'Top 1 Accuracy': 76.2},
         "ReXNet authors' released ReXNet-lite weights")],
}
#: config folder -> (collection name, task, dataset name of its configs by keyword)
FOLDERS = {
    'detection': 'Detection',
    'segmentation': 'Segmentation',
    'classification': 'Classification',
    'finegrained': 'Fine-grained transfer',
    'distill': 'Knowledge distillation',
}
_DATASETS = (('coco', 'COCO'), ('ade20k', 'ADE20K'), ('cityscapes', 'Cityscapes'),
             ('in1k', 'ImageNet-1k'), ('cub', 'CUB-200-2011'), ('cars', 'Stanford Cars'),
             ('aircraft', 'FGVC Aircraft'), ('flowers', 'Flowers-102'), ('food', 'Food-101'),
             ('pets', 'Oxford-IIIT Pets'), ('synthetic-birds', 'synthetic birds (embedded)'),
             ('shapes', 'shapes (embedded)'))


def shipped_configs(config_root, folder):
    """The configs of one folder (not ``_base_``); detection adds the top-level SSDLite."""
    paths = sorted(p for p in glob.glob(osp.join(config_root, folder, '**', '*.py'),
                                        recursive=True) if '_base_' not in p)
    if folder == 'detection':
        paths.insert(0, osp.join(config_root, 'ssdlite_rexnet.py'))
    return paths


def _dataset(stem, cfg):
    name = next((name for key, name in _DATASETS if key in stem), None)
    if name is None:  # a name without the dataset (ssdlite_rexnet): its dataset type
        dataset = (cfg.get('train_dataloader') or {}).get('dataset') or {}
        while 'dataset' in dataset:  # RepeatDataset and friends
            dataset = dataset['dataset']
        name = {'CocoDataset': 'COCO'}.get(dataset.get('type'), 'unknown')
    return name


def _schedule(cfg):
    train = cfg.get('train_cfg') or {}
    if 'max_epochs' in train:
        return {'Epochs': int(train['max_epochs'])}
    if 'max_iters' in train:
        return {'Iterations': int(train['max_iters'])}
    return {}


def plain_student(cfg):
    """``(cfg, distillation)``: a distillation config as its student's plain config (a copy,
    ``model`` = the wrapper's ``student``) and ``{'Teacher': teacher config, 'Distiller':
    wrapper type}``; any other config as it is and ``{}``."""
    from ..distill import student_config
    model = cfg.get('model') or {}
    if 'student' not in model or 'teacher_config' not in model:
        return cfg, {}
    return student_config(cfg), {'Teacher': model.teacher_config, 'Distiller': model.type}


def measure(path):
    """``(params, flops, input)`` of one config, as the metafile states them."""
    import torch
    from mmengine.config import Config

    from .complexity import config_complexity, conv_fc_macs, count_params
    # the R-CNN count includes the RoI heads on the proposals the random weights yield:
    # seed them, so that one machine writes the same file twice
    torch.manual_seed(0)
    cfg, _ = plain_student(Config.fromfile(path))
    if cfg.get('default_scope') in ('mmdet', 'mmseg'):
        r = config_complexity(cfg)
        return r['params'], r['flops'], f'{r["shape"][0]}x{r["shape"][1]}'
    from mmpretrain.registry import MODELS

    from ..fixes import default_scope
    model = cfg.model.copy()
    model.backbone.init_cfg = None
    with default_scope('mmpretrain'):
        built = MODELS.build(model).eval()
    return count_params(built), conv_fc_macs(built), '224x224'


def entry(path, config_root, params, flops, input_size):
    """One model-index entry (a dict) of the config at ``path``."""
    from mmengine.config import Config
    cfg, distillation = plain_student(Config.fromfile(path))
    stem = osp.splitext(osp.basename(path))[0]
    rel = osp.relpath(path, osp.dirname(config_root)).replace(osp.sep, '/')
    backbone = cfg.model.backbone.type
    family = 'ReXNet' if backbone == 'ReXNet' else 'RegNet'
    folder = osp.relpath(path, config_root).split(osp.sep)[0]
    folder = 'detection' if folder == 'ssdlite_rexnet.py' else folder
    meta = {'Training Data': _dataset(stem, cfg), **_schedule(cfg),
            'Parameters': int(params), 'FLOPs': int(flops), 'Input Size': input_size,
            'Architecture': [backbone], **distillation}
    item = {'Name': stem, 'In Collection': FOLDERS[folder], 'Config': rel, 'Metadata': meta,
            'Paper': PAPERS[family], 'README': f'configs/{folder}/README.md'}
    if folder == 'classification':  # ImageNet classifiers: the zoo's weights
        from ..weights.zoo import SCHEME, name_for
        zoo_name = name_for(cfg.model.backbone)
        if zoo_name:
            item['Weights'] = SCHEME + zoo_name
    results = PUBLISHED.get(stem)
    if results:
        item['Results'] = [dict(Task=t, Dataset=d, Metrics=m, Source=f'published: {s}; '
                                'not reproduced by rexnet_mm')
                           for t, d, m, s in results]
    return item


def _yaml(data):
    """YAML text in OpenMMLab's style: stable key order, no anchors or aliases."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

    return yaml.dump(data, Dumper=Dumper, sort_keys=False, width=100, allow_unicode=True)


def collection(folder):
    """The ``Collections`` block of one folder's metafile."""
    return [{'Name': FOLDERS[folder], 'README': f'configs/{folder}/README.md',
             'Metadata': {'Architecture': ['ReXNet', 'RegNet']},
             'Paper': [PAPERS['ReXNet'], PAPERS['RegNet']]}]


def build(config_root, folders=tuple(FOLDERS), progress=print):
    """``{folder: metafile text}`` plus ``'model-index'`` for the top-level index,
    measuring every config (a few minutes on 2 cores)."""
    texts = {}
    for folder in folders:
        entries = []
        for path in shipped_configs(config_root, folder):
            params, flops, size = measure(path)
            entries.append(entry(path, config_root, params, flops, size))
            progress(f'{osp.relpath(path, config_root)}: {params / 1e6:.2f} M params, '
                     f'{flops / 1e9:.2f} GFLOPs at {size}')
        texts[folder] = _yaml({'Collections': collection(folder), 'Models': entries})
        readme = osp.join(config_root, folder, 'README.md')
        if osp.exists(readme):
            texts[f'{folder}/README.md'] = with_table(open(readme).read(), entries)
    texts['model-index'] = _yaml({'Import': [f'configs/{f}/metafile.yml' for f in FOLDERS]})
    return texts


BEGIN, END = '<!-- metafile table: begin -->', '<!-- metafile table: end -->'


def table(entries):
    """Markdown table of a folder's entries (its README shows it between BEGIN and END)."""
    rows = ['| config | backbone | params (M) | GFLOPs | input | published elsewhere |',
            '|---|---|---|---|---|---|']
    for e in entries:
        meta = e['Metadata']
        published = '; '.join(
            ', '.join(f'{k} {v}' for k, v in r['Metrics'].items()) + ' ('
            + r['Source'][len('published: '):].split(';')[0].split(' (')[0] + ')'
            for r in e.get('Results', [])) or '-'
        rows.append(f"| [{e['Name']}](../../{e['Config']}) | {meta['Architecture'][0]} | "
                    f"{meta['Parameters'] / 1e6:.2f} | {meta['FLOPs'] / 1e9:.2f} | "
                    f"{meta['Input Size']} | {published} |")
    return '\n'.join(rows) + '\n'


def with_table(readme, entries):
    """``readme`` with the text between the table markers replaced by :func:`table`."""
    if BEGIN not in readme or END not in readme:
        raise ValueError(f'the README has no {BEGIN} ... {END} markers')
    head, rest = readme.split(BEGIN, 1)
    return head + BEGIN + '\n' + table(entries) + END + rest.split(END, 1)[1]


def metafile_path(config_root, folder):
    if folder == 'model-index':
        return osp.join(config_root, 'model-index.yml')
    if folder.endswith('README.md'):
        return osp.join(config_root, folder)
    return osp.join(config_root, folder, 'metafile.yml')


def main(argv=None, root='configs'):
    """``python tools/analysis/metafiles.py [--check]``: (re)write or check the metafiles."""
    import argparse
    import os
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--check', action='store_true',
                        help='exit 1 if a metafile differs from what would be written')
    parser.add_argument('--folders', nargs='+', default=list(FOLDERS), choices=list(FOLDERS))
    args = parser.parse_args(argv)
    stale = []
    for folder, text in build(root, args.folders).items():
        path = metafile_path(root, folder)
        old = open(path).read() if osp.exists(path) else None
        if old == text:
            continue
        stale.append(path)
        if not args.check:
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                f.write(text)
            os.replace(tmp, path)
            print(f'wrote {path}')
    if args.check and stale:
        print('out of date: ' + ', '.join(stale) + ' (run python tools/analysis/metafiles.py)')
        return 1
    return 0
