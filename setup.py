import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


class build_py_with_configs(build_py):
    """Ship ``configs/`` inside the package as ``rexnet_mm/.mim/configs`` (where mmdet
    and mmpretrain ship theirs), so that a wheel / ``pip install .`` has them;
    ``rexnet_mm.get_config`` finds them there or, in a checkout, next to the package."""

    def run(self):
        super().run()
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs')
        dst = os.path.join(self.build_lib, 'rexnet_mm', '.mim', 'configs')
        if os.path.isdir(src) and not self.editable_mode:
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


setup(
    name='rexnet_mm',
    version='0.1.0',
    description='ReXNet and RegNet backbones for the OpenMMLab stack '
                '(mmdet, mmsegmentation, mmpretrain)',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['rexnet_mm', 'rexnet_mm.*']),
    python_requires='>=3.9',
    # The heavy, ABI-sensitive pins (torch, mmcv compiled with ops) are made by
    # tools/install.sh; these are the ranges the package itself needs.
    install_requires=[
        'torch>=2.0',
        'mmengine>=0.10.0,<0.11',
        'mmcv>=2.0.0rc4,<2.2.0',
        'mmdet>=3.0.0,<3.4.0',
        'numpy',
        'pycocotools',
        'matplotlib',
        # weights by name (rexnet_mm.weights.download): hub files, their format, one
        # download per machine under torchrun
        'huggingface_hub',
        'safetensors',
        'filelock',
    ],
    extras_require={
        'seg': ['mmsegmentation>=1.0,<1.3', 'ftfy', 'regex'],
        'cls': ['mmpretrain>=1.0,<1.3'],
        'deploy': ['onnx', 'onnxruntime', 'openvino'],
        'tests': ['pytest', 'pytest-xdist', 'timm', 'mmsegmentation>=1.0,<1.3', 'ftfy', 'regex',
                  'mmpretrain>=1.0,<1.3', 'onnx', 'onnxruntime', 'openvino'],
    },
    cmdclass={'build_py': build_py_with_configs},
    entry_points={'console_scripts': [
        'rexnet-mm-train=rexnet_mm.tools.train:cli',
        'rexnet-mm-test=rexnet_mm.tools.test:cli',
        'rexnet-mm-convert=rexnet_mm.tools.convert_checkpoint:cli',
        'rexnet-mm-coco-eval=rexnet_mm.tools.coco_eval:cli',
        'rexnet-mm-transfer=rexnet_mm.tools.transfer:cli',
        'rexnet-mm-deploy=rexnet_mm.tools.deploy:cli',
        'rexnet-mm-fetch-weights=rexnet_mm.tools.fetch_weights:cli',
        'rexnet-mm-gen-coco=rexnet_mm.synthetic.shapes_coco:main',
        'rexnet-mm-gen-seg=rexnet_mm.synthetic.shapes_seg:main',
        'rexnet-mm-gen-finegrained=rexnet_mm.synthetic.finegrained:main',
    ]},
)
