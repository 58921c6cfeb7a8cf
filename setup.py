from setuptools import find_packages, setup

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
    ],
    extras_require={
        'seg': ['mmsegmentation>=1.0,<1.3', 'ftfy', 'regex'],
        'cls': ['mmpretrain>=1.0,<1.3'],
        'tests': ['pytest', 'timm', 'mmsegmentation>=1.0,<1.3', 'ftfy', 'regex',
                  'mmpretrain>=1.0,<1.3'],
    },
    entry_points={'console_scripts': [
        'rexnet-mm-gen-coco=rexnet_mm.synthetic.shapes_coco:main',
        'rexnet-mm-gen-finegrained=rexnet_mm.synthetic.finegrained:main',
    ]},
)
