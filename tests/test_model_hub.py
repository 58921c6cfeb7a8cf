"""Our configs through the package API (rexnet_mm.get_config / get_config_path /
list_configs) and our classification models by name through mmpretrain's ModelHub:
list_models, get_model(pretrained=PATH), ImageClassificationInferencer, FeatureExtractor."""
import os.path as osp

import numpy as np
import pytest
import torch

import rexnet_mm
from rexnet_mm.apis.config import ConfigError


def test_config_api_finds_configs_by_name_and_path():
    names = rexnet_mm.list_configs()
    assert 'ssdlite_rexnet.py' in names and not any('_base_' in n for n in names)
    by_name = rexnet_mm.get_config_path('rexnet-1.0_cub')  # a dot in the name
    assert by_name == osp.join(rexnet_mm.apis.config.config_dir(), 'finegrained',
                               'rexnet-1.0_cub.py')
    assert rexnet_mm.get_config_path('finegrained/rexnet-1.0_cub.py') == by_name
    assert rexnet_mm.list_configs('*lraspp*') == [n for n in names if 'lraspp' in n]
    cfg = rexnet_mm.get_config('ssdlite_rexnet', cfg_options={'train_cfg.max_epochs': 3})
    assert cfg.model.backbone.type.endswith('ReXNet') and cfg.train_cfg.max_epochs == 3
    with pytest.raises(ConfigError, match='list_configs'):
        rexnet_mm.get_config_path('ssdlite_rexnet_v9')


def test_our_classifiers_are_in_mmpretrains_model_hub():
    import mmpretrain
    names = mmpretrain.list_models('*rexnet*')
    assert {'rexnet-1.0_4xb128_in1k', 'rexnet-lite-1.0_4xb128_in1k',
            'rexnet-1.0_cub'} <= set(names)
    # the test and demo stand-ins (embedded generated data) are not listed beside them,
    # though their configs are shipped and their metafile entries are there
    standins = ('standin_rexnet-1.0_shapes-pretrain', 'rexnet-1.0_synthetic-birds',
                'rexnet-1.5_synthetic-birds', 'regnety-1.6gf_synthetic-birds')
    assert not set(standins) & set(mmpretrain.list_models('*'))
    metafile = open(osp.join(rexnet_mm.apis.config.config_dir(), 'finegrained',
                             'metafile.yml')).read()
    for name in standins:
        assert f'- Name: {name}' in metafile and rexnet_mm.get_config_path(name)
    assert 'regnety-1.6gf_cub' in mmpretrain.list_models('regnety*')
    # mmpretrain's own models are still there
    assert 'resnet18_8xb32_in1k' in mmpretrain.list_models('resnet18*')


@pytest.mark.slow
def test_get_model_inferencer_and_feature_extractor_by_name(tmp_path):
    from mmpretrain import FeatureExtractor, ImageClassificationInferencer, get_model
    torch.manual_seed(0)
    model = get_model('rexnet-1.0_4xb128_in1k').eval()
    ckpt = str(tmp_path / 'rexnet.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    loaded = get_model('rexnet-1.0_4xb128_in1k', pretrained=ckpt).eval()
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    img = (np.random.default_rng(0).random((96, 128, 3)) * 255).astype(np.uint8)
    result = ImageClassificationInferencer('rexnet-1.0_4xb128_in1k', pretrained=ckpt)(img)[0]
    # the same prediction by hand: the inferencer's own pipeline, then the model
    inferencer = ImageClassificationInferencer('rexnet-1.0_4xb128_in1k', pretrained=ckpt)
    data = inferencer.model.data_preprocessor(
        {'inputs': [inferencer.pipeline(dict(img=img))['inputs']]}, False)
    with torch.no_grad():
        scores = loaded(data['inputs'], mode='tensor').softmax(-1)[0]
    assert result['pred_label'] == int(scores.argmax())
    np.testing.assert_allclose(result['pred_scores'], scores.numpy(), rtol=1e-4, atol=1e-7)
    feats = FeatureExtractor('rexnet-1.0_4xb128_in1k', pretrained=ckpt)(img)[0]
    assert feats[-1].shape == (1280, )


def test_missing_checkpoint_names_the_convert_command():
    from mmpretrain import ImageClassificationInferencer, get_model
    for build in (lambda: get_model('rexnet-1.0_cub', pretrained='missing/rexnet.pth'),
                  lambda: ImageClassificationInferencer('rexnet-1.0_4xb128_in1k',
                                                        pretrained='missing/rexnet.pth')):
        with pytest.raises(FileNotFoundError) as e:
            build()
        assert 'tools/convert_checkpoint.py' in str(e.value) and '\n' not in str(e.value)
