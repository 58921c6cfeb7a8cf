"""Fine-grained transfer: checkpoint loading, a short fine-tune, dataset layouts.

* ImageNet checkpoints in the authors', timm and pycls layouts load into the transfer
  models with every backbone tensor equal to the file's and only the classifier
  left out (re-initialised for the new classes); the loaded backbones reproduce
  timm's features on the same weights (an independent implementation).
* tools/transfer.py fine-tunes on the embedded synthetic birds: the loss falls, test
  top-1 is far above chance, and mmpretrain's Accuracy prints top-1/top-5.
* Each of the six dataset configs builds its mmpretrain dataset from a tiny fixture
  in that dataset's real folder layout; a malformed folder stops with one line that
  names the expected layout.
"""
import copy
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from rexnet_mm.apis import transfer  # noqa: E402
from rexnet_mm.tools import transfer as transfer_cli  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
from rexnet_mm.weights import convert_state_dict, read_state_dict  # noqa: E402
from rexnet_mm.analysis.parity import PARITY_RTOL, randomize_, rel_diff  # noqa: E402
from rexnet_mm.synthetic import finegrained as gen  # noqa: E402
from rexnet_mm.apis.finegrained_layouts import DATASETS as SPECS  # noqa: E402
from rexnet_mm.apis.finegrained_layouts import DatasetLayoutError, check_layout  # noqa: E402


# --------------------------------------------------------------------------
# shared fixtures
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def birds(tmp_path_factory):
    """8 synthetic-bird classes (4 close hues x plain/striped wings), 32 px."""
    root = str(tmp_path_factory.mktemp('finegrained') / 'synthetic_birds')
    gen.write_finegrained(root, num_classes=8, train_per_class=16, test_per_class=8,
                          size=32, seed=0)
    return root


def _transfer_args(data_root, work_dir, **kwargs):
    args = dict(dataset='synthetic', data_root=data_root, work_dir=str(work_dir),
                num_workers=0)
    args.update(kwargs)
    return transfer.TransferOptions(**args)


def _timm_model(name, seed=0):
    """timm's model with every tensor random (BN statistics and affine parameters
    included, so that misplaced ones show); RegNets with the well-conditioned settings
    of the parity tests (REGNET_RANDOM), whose 27 random residual blocks otherwise
    amplify float32 rounding past PARITY_RTOL."""
    from rexnet_mm.analysis.parity import REGNET_RANDOM, meta_built
    import timm
    kwargs = REGNET_RANDOM if name.startswith('regnet') else {}
    return randomize_(meta_built(timm.create_model, name, pretrained=False), seed, **kwargs)


def _write_checkpoint(layout, tmp_path):
    """(path, timm reference model, family, input channel order) for ``layout``."""
    if layout == 'pycls':
        from rexnet_mm.weights.regnet import to_layout
        net = _timm_model('regnety_016')
        ours, _ = convert_state_dict(net.state_dict(), 'regnet')
        state = {'model_state': to_layout(ours, 'pycls')}  # how pycls wraps its files
        family, order = 'regnet', 'BGR'
    else:
        net = _timm_model('rexnet_100')
        state = net.state_dict()
        if layout == 'authors':
            from rexnet_mm.weights.rexnet import to_layout
            ours, _ = convert_state_dict(state, 'rexnet')
            state = to_layout(ours, 'authors')
            # like the released rexnetv1_*.pth files: 413 entries (BN counters included)
            assert len(state) == 413
        family, order = 'rexnet', 'RGB'
    path = str(tmp_path / f'imagenet_{layout}.pth')
    torch.save(state, path)
    return path, net, family, order


# --------------------------------------------------------------------------
# 1. ImageNet checkpoints -> transfer model
# --------------------------------------------------------------------------
@pytest.mark.parametrize('layout,model,fmt', [
    ('authors', 'rexnet-1.0', 'rexnet_authors'),
    ('timm', 'rexnet-1.0', 'rexnet_timm'),
    ('pycls', 'regnety-1.6gf', 'regnet_pycls'),
])
@pytest.mark.slow
def test_checkpoint_loads_backbone_and_reinitialises_classifier(
        layout, model, fmt, birds, tmp_path):
    from mmpretrain.registry import MODELS
    path, net, family, order = _write_checkpoint(layout, tmp_path)
    cfg = transfer.build_config(_transfer_args(birds, tmp_path / 'wd', model=model,
                                               checkpoint=path))
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint=path)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()

    ckpt, found = convert_state_dict(read_state_dict(path), family)
    assert found == fmt
    own = model.state_dict()
    backbone = [k for k in own if k.startswith('backbone.')
                and not k.endswith('num_batches_tracked')]
    # every backbone tensor is the checkpoint's, bit for bit
    for key in backbone:
        assert torch.equal(own[key], ckpt[key]), key
    # exactly the classifier is left out
    left_out = {k for k in ckpt if k not in backbone and not k.endswith('num_batches_tracked')}
    assert left_out == {'head.fc.weight', 'head.fc.bias'}
    # ... and is re-initialised for the 8 new classes (Normal(0, 0.01), zero bias)
    weight, bias = own['head.fc.weight'], own['head.fc.bias']
    assert weight.shape == (8, ckpt['head.fc.weight'].shape[1])
    assert ckpt['head.fc.weight'].shape[0] == 1000
    assert not torch.allclose(weight, ckpt['head.fc.weight'][:8])
    assert 0.007 < weight.std().item() < 0.013 and torch.all(bias == 0)

    # independent check: the loaded backbone gives timm's pooled features
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        ref = net.forward_head(net.forward_features(x), pre_logits=True)
        ours = model.extract_feat(x[:, [2, 1, 0]] if order == 'BGR' else x)[-1]
    assert ours.shape == ref.shape
    assert rel_diff(ours, ref) <= PARITY_RTOL  # float32 rounding, relative to scale


@pytest.mark.slow
def test_wrong_checkpoint_is_one_line_error(birds, tmp_path):
    path, _, _, _ = _write_checkpoint('timm', tmp_path)  # a ReXNet-1.0 file
    for model, expected in (('regnety-1.6gf', 'unrecognised checkpoint layout'),
                            ('rexnet-1.5', 'holds ReXNet-1 (v1) but the model is ReXNet-1.5')):
        with pytest.raises(SystemExit) as exc:
            transfer_cli.main(['synthetic', '--model', model, '--checkpoint', path,
                               '--data-root', birds, '--work-dir', str(tmp_path / 'wd')])
        msg = str(exc.value)
        assert msg.startswith('error:') and '\n' not in msg and expected in msg, msg


# --------------------------------------------------------------------------
# 2. a short fine-tune on the embedded dataset
# --------------------------------------------------------------------------
@pytest.fixture
def one_thread():
    """32 px images, batch 32: OpenMP threading costs more than it gains here, and
    on a busy machine its spin-waiting multiplies the run time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_short_finetune_beats_chance(birds, tmp_path, capsys, one_thread):
    work_dir = tmp_path / 'finetune'
    result = transfer_cli.main([
        'synthetic', '--scratch', '--data-root', birds, '--work-dir', str(work_dir),
        '--epochs', '30', '--batch-size', '32', '--num-workers', '0', '--cfg-options',
        'default_hooks.logger.interval=1', 'train_cfg.val_interval=30',
        'default_hooks.checkpoint.interval=30'])
    out = capsys.readouterr().out
    # evaluation went through mmpretrain's Accuracy metric and printed top-1/top-5
    assert 'Epoch(test)' in out and 'accuracy/top1' in out and 'accuracy/top5' in out
    assert 'test top-1' in out
    chance = 100.0 / 8
    assert result["top1"] >= 3 * chance, result  # 8 classes, 64 test images
    assert result['top5'] > result['top1']
    with open(work_dir / 'transfer_result.json') as f:
        assert json.load(f)['top1'] == result['top1']
    # the training loss went down (mmengine's smoothed loss, logged every iter)
    scalars = glob.glob(str(work_dir / '*' / 'vis_data' / 'scalars.json'))
    losses = [json.loads(line)['loss'] for line in open(scalars[-1]) if '"loss"' in line]
    assert len(losses) == 30 * 4  # 128 images, batch 32
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses
    _mmpretrain_inferencer_matches_tools_test(str(work_dir / 'rexnet-1.0_synthetic-birds.py'),
                                              str(work_dir / 'epoch_30.pth'), tmp_path)


def _mmpretrain_inferencer_matches_tools_test(cfg_path, ckpt, tmp_path):
    """mmpretrain's ImageClassificationInferencer on the config and checkpoint the
    fine-tune saved gives, for a test image, the label and scores tools/test.py --out
    dumped for it (scores within 1e-4 relative: batch 64 there, one image here, the
    same float32 ops summed in another order; measured ~1e-7)."""
    import pickle
    from mmpretrain import ImageClassificationInferencer
    from rexnet_mm.tools import test as test_cli
    out = str(tmp_path / 'preds.pkl')
    metrics = test_cli.main([cfg_path, ckpt, '--work-dir', str(tmp_path / 'test'),
                             '--out', out])
    assert 'accuracy/top1' in metrics
    with open(out, 'rb') as f:
        dumped = pickle.load(f)
    assert len(dumped) == 64
    inferencer = ImageClassificationInferencer(cfg_path, pretrained=ckpt, device='cpu')
    for record in dumped[:3]:
        result = inferencer(record['img_path'])[0]
        assert result['pred_label'] == int(record['pred_label'])
        np.testing.assert_allclose(result['pred_scores'], record['pred_score'].numpy(),
                                   rtol=1e-4, atol=1e-6)
        print(f"ImageClassificationInferencer vs tools/test.py, {osp.basename(record['img_path'])}: "
              f"label {result['pred_label']} both, max |score diff| "
              f"{np.abs(result['pred_scores'] - record['pred_score'].numpy()).max():.2e}")


# --------------------------------------------------------------------------
# 3. the six dataset configs on fixtures in the real folder layouts
# --------------------------------------------------------------------------
def _jpg(path, seed=0):
    os.makedirs(osp.dirname(path), exist_ok=True)
    pixels = np.random.RandomState(seed).randint(0, 255, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def _text(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def _mat(path, content):
    import mat4py
    os.makedirs(osp.dirname(path), exist_ok=True)
    mat4py.savemat(path, content)


def _cub(root):
    images = ['001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg',
              '001.Black_footed_Albatross/Black_Footed_Albatross_0002_55.jpg',
              '200.Common_Yellowthroat/Common_Yellowthroat_0003_190521.jpg',
              '200.Common_Yellowthroat/Common_Yellowthroat_0004_190606.jpg']
    for i, rel in enumerate(images):
        _jpg(osp.join(root, 'images', rel), i)
    _text(osp.join(root, 'images.txt'), [f'{i + 1} {p}' for i, p in enumerate(images)])
    _text(osp.join(root, 'image_class_labels.txt'), ['1 1', '2 1', '3 200', '4 200'])
    _text(osp.join(root, 'train_test_split.txt'), ['1 1', '2 0', '3 0', '4 1'])
    return [0, 199], [0, 199]


def _cars(root):  # the single-file release: car_ims/ + cars_annos.mat
    for i in range(4):
        _jpg(osp.join(root, 'car_ims', f'{i + 1:06d}.jpg'), i)
    _mat(osp.join(root, 'cars_annos.mat'), {'annotations': {
        'relative_im_path': [f'car_ims/{i + 1:06d}.jpg' for i in range(4)],
        'class': [1, 14, 196, 1], 'test': [0, 0, 1, 1]}})
    return [0, 13], [195, 0]


def _cars_devkit(root):  # the devkit release: cars_train/, cars_test/, devkit/*.mat
    for split in ('train', 'test'):
        for i in range(2):
            _jpg(osp.join(root, f'cars_{split}', f'{i + 1:05d}.jpg'), i)
    _mat(osp.join(root, 'devkit', 'cars_train_annos.mat'), {'annotations': {
        'fname': ['00001.jpg', '00002.jpg'], 'class': [5, 196]}})
    _mat(osp.join(root, 'devkit', 'cars_test_annos_withlabels.mat'), {'annotations': {
        'fname': ['00001.jpg', '00002.jpg'], 'class': [1, 2]}})
    return [4, 195], [0, 1]


def _aircraft(root):
    # variant names from the release's variants.txt: 707-320 is the first of 100,
    # Cessna 172 the 48th, Yak-42 the last
    train = ['1025794 707-320', '1340192 Cessna 172']
    test = ['0062765 Yak-42', '1042824 707-320']
    for i, line in enumerate(train + test):
        _jpg(osp.join(root, 'data', 'images', line.split()[0] + '.jpg'), i)
    _text(osp.join(root, 'data', 'images_variant_trainval.txt'), train)
    _text(osp.join(root, 'data', 'images_variant_test.txt'), test)
    return [0, 47], [99, 0]


def _flowers(root):
    for i in range(6):
        _jpg(osp.join(root, 'jpg', f'image_{i + 1:05d}.jpg'), i)
    _mat(osp.join(root, 'imagelabels.mat'), {'labels': [77, 77, 1, 102, 1, 102]})
    _mat(osp.join(root, 'setid.mat'), {'trnid': [1, 3], 'valid': [4, 2], 'tstid': [5, 6]})
    return [76, 0, 101, 76], [0, 101]


def _food(root):
    train = ['apple_pie/1005649', 'waffles/1008124']
    test = ['waffles/1009001', 'apple_pie/1011328']
    for i, rel in enumerate(train + test):
        _jpg(osp.join(root, 'images', rel + '.jpg'), i)
    _text(osp.join(root, 'meta', 'train.txt'), train)
    _text(osp.join(root, 'meta', 'test.txt'), test)
    return [0, 100], [100, 0]


def _pets(root):
    # "<image> <class id 1-37> <species 1 cat / 2 dog> <breed id>"
    trainval = ['Abyssinian_100 1 1 1', 'yorkshire_terrier_10 37 2 25']
    test = ['american_bulldog_1 2 2 1', 'Abyssinian_201 1 1 1']
    for i, line in enumerate(trainval + test):
        _jpg(osp.join(root, 'images', line.split()[0] + '.jpg'), i)
    _text(osp.join(root, 'annotations', 'trainval.txt'), trainval)
    _text(osp.join(root, 'annotations', 'test.txt'), test)
    return [0, 36], [1, 0]


FIXTURES = {'cub': _cub, 'cars': _cars, 'cars-devkit': _cars_devkit,
            'aircraft': _aircraft, 'flowers': _flowers, 'food': _food, 'pets': _pets}
NUM_CLASSES = {'cub': 200, 'cars': 196, 'aircraft': 100, 'flowers': 102, 'food': 101,
               'pets': 37}
CROP = {'cub': 448, 'cars': 448, 'aircraft': 448, 'flowers': 224, 'food': 224, 'pets': 224}
#: a file whose removal breaks the layout
BREAK = {'cub': 'image_class_labels.txt', 'cars': 'cars_annos.mat',
         'cars-devkit': 'devkit/cars_train_annos.mat',
         'aircraft': 'data/images_variant_test.txt', 'flowers': 'setid.mat',
         'food': 'meta/train.txt', 'pets': 'annotations/test.txt'}


@pytest.mark.slow
@pytest.mark.parametrize('fixture', list(FIXTURES))
def test_dataset_config_builds_from_real_layout(fixture, tmp_path):
    from mmengine.config import Config
    from mmpretrain.registry import DATASETS
    name = fixture.split('-')[0]
    root = str(tmp_path / SPECS[name].folder)
    train_labels, test_labels = FIXTURES[fixture](root)
    check_layout(name, root)
    for model in transfer.MODELS:  # every recipe of the dataset has its class count
        cfg = Config.fromfile(transfer.config_path(name, model))
        assert cfg.model.head.num_classes == NUM_CLASSES[name]
        assert cfg.data_preprocessor.num_classes == NUM_CLASSES[name]
    for loader, labels in (('train_dataloader', train_labels),
                           ('test_dataloader', test_labels)):
        ds_cfg = copy.deepcopy(cfg[loader].dataset)
        ds_cfg.data_root = root
        dataset = DATASETS.build(ds_cfg)
        assert dataset.get_gt_labels().tolist() == labels
        if dataset.CLASSES is not None:  # mmpretrain's category list of the release
            assert len(dataset.CLASSES) == NUM_CLASSES[name]
        for i in range(len(dataset)):
            assert osp.isfile(dataset.get_data_info(i)['img_path'])
        sample = dataset[0]  # the recipe's pipeline runs on the real files
        assert tuple(sample['inputs'].shape) == (3, CROP[name], CROP[name])

    # tools/transfer.py points every split of the recipe at the data root
    cfg = transfer.build_config(_transfer_args(root, tmp_path / 'wd', dataset=name,
                                               scratch=True))
    assert {cfg[k].dataset.data_root for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')} == {root}
    assert cfg.model.backbone.init_cfg is None

    os.remove(osp.join(root, BREAK[fixture]))
    with pytest.raises(DatasetLayoutError) as exc:
        check_layout(name, root)
    msg = str(exc.value)
    assert '\n' not in msg and SPECS[name].folder in msg and 'expected layout' in msg


def test_layout_errors_name_the_expected_layout(tmp_path):
    root = str(tmp_path / 'CUB_200_2011')
    _cub(root)
    # an annotation file that lists an image which is not there
    _text(osp.join(root, 'images.txt'), ['1 001.Black_footed_Albatross/missing.jpg'])
    with pytest.raises(DatasetLayoutError, match='does not exist; expected layout'):
        check_layout('cub', root)
    # the parent folder instead of the dataset folder: point at the inner one
    with pytest.raises(DatasetLayoutError, match='did you mean'):
        check_layout('cub', str(tmp_path))
    # the command line stops with one line naming the layout
    with pytest.raises(SystemExit) as exc:
        transfer_cli.main(['food', '--scratch', '--data-root', str(tmp_path / 'nowhere')])
    msg = str(exc.value)
    assert '\n' not in msg and msg.startswith('error: food data root'), msg
    assert 'food-101/{images/<class>/*.jpg, meta/train.txt, meta/test.txt}' in msg


# --------------------------------------------------------------------------
# 4. the generator
# --------------------------------------------------------------------------
def test_generator_is_deterministic_and_never_overwrites(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    for root in (a, b):
        names = gen.write_finegrained(root, num_classes=32, train_per_class=1,
                                      test_per_class=1, size=32, seed=3)
    assert len(names) == len(set(names)) == 32
    for rel in ('images.txt', 'image_class_labels.txt', 'train_test_split.txt'):
        assert open(osp.join(a, rel)).read() == open(osp.join(b, rel)).read()
    first = open(osp.join(a, 'images.txt')).readline().split()[1]
    assert (np.asarray(Image.open(osp.join(a, 'images', first))) ==
            np.asarray(Image.open(osp.join(b, 'images', first)))).all()
    # rerunning with the same parameters reuses the folder; other parameters or a
    # foreign folder are refused, and nothing is overwritten
    gen.write_finegrained(a, num_classes=32, train_per_class=1, test_per_class=1,
                          size=32, seed=3)
    with pytest.raises(FileExistsError):
        gen.write_finegrained(a, num_classes=32, train_per_class=1, test_per_class=1,
                              size=32, seed=4)
    foreign = tmp_path / 'mine'
    foreign.mkdir()
    (foreign / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError):
        gen.write_shapes(str(foreign), num_classes=4, train_per_class=1, val_per_class=1,
                         size=32)
    assert (foreign / 'notes.txt').read_text() == 'keep me'
    # classes of the same hue differ only in wing texture: the images differ there
    classes = gen.finegrained_classes(8)
    assert classes[0]['hue'] == classes[4]['hue'] and classes[0]['texture'] != \
        classes[4]['texture']


# --------------------------------------------------------------------------
# 5. the ImageNet classifier configs the checkpoints come from
# --------------------------------------------------------------------------
@pytest.mark.parametrize('name,params', [('rexnet-1.0_4xb128_in1k', 4_796_873),
                                         ('rexnet-lite-1.0_4xb128_in1k', 4_740_056)])
@pytest.mark.slow
def test_imagenet_classifier_configs(name, params, tmp_path):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS, TRANSFORMS
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'classification', f'{name}.py'))
    for loader in ('train_dataloader', 'test_dataloader'):
        for transform in cfg[loader].dataset.pipeline:
            TRANSFORMS.build(transform)
    model = MODELS.build(cfg.model).eval()
    # README/REFERENCE: 4,796,873 (v1) and 4.74M (lite) parameters with 1000 classes
    assert sum(p.numel() for p in model.parameters()) == params
    if 'lite' in name:  # no independent implementation: authors' layout round trip
        from rexnet_mm.weights.rexnet import to_layout
        state = to_layout(model.state_dict(), 'authors')
        assert 'output.4.weight' in state
        converted, fmt = convert_state_dict(state, 'rexnet')
        assert fmt == 'rexnet_authors' and converted.keys() == model.state_dict().keys()
        return
    # a timm rexnet_100 file gives timm's logits through the classifier config
    net = _timm_model('rexnet_100', seed=1)
    converted, _ = convert_state_dict(net.state_dict(), 'rexnet')
    model.load_state_dict(converted, strict=True)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        ref = net(x)
        ours = model(x, mode='tensor')
    assert rel_diff(ours, ref) <= PARITY_RTOL  # float32 rounding, relative to scale


@pytest.mark.slow
def test_standin_pretraining_data_and_config(tmp_path):
    """The ImageNet stand-in: shapes in CustomDataset layout, read by its config."""
    from mmengine.config import Config
    from mmpretrain.registry import DATASETS
    root = str(tmp_path / 'shapes')
    names = gen.write_shapes(root, num_classes=96, train_per_class=1, val_per_class=1,
                             size=16)
    assert len(set(names)) == 96 and not set(names) & {
        c['name'] for c in gen.finegrained_classes(32)}
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'finegrained',
                                   'standin_rexnet-1.0_shapes-pretrain.py'))
    assert cfg.model.head.num_classes == 96
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = root
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == 96
    assert sorted(dataset.get_gt_labels().tolist()) == list(range(96))
    # folder order is label order: class i is names[i]
    first = dataset.get_data_info(0)
    assert osp.basename(osp.dirname(first['img_path'])).endswith(names[first['gt_label']])
