"""Every pointer resolves: Markdown links of README and docs (file and #anchor), and the
"see X" pointers in code, configs and messages (``docs/x.md``, ``docs/x.md#anchor``,
``docs/x.md, "Section"``, ``README, "Section"``): the file exists and so does the
section (a heading that starts with the quoted text)."""
import os.path as osp
import re
import subprocess

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _tracked(*suffixes):
    files = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [f for f in files if f.endswith(suffixes)]


def headings(md_path):
    """``{heading text (lower case)}`` and ``{GitHub anchor slug}`` of a Markdown file."""
    texts, slugs = set(), set()
    in_code = False
    with open(md_path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('```'):
                in_code = not in_code
            m = None if in_code else re.match(r'#{1,6}\s+(.*?)\s*#*\s*$', line)
            if m:
                text = m.group(1).strip()
                texts.add(text.lower())
                slug = re.sub(r'[^\w\- ]', '', text.lower()).replace(' ', '-')
                slugs.add(slug)
    return texts, slugs


def broken_links(md_files):
    """``[(file, target, why)]`` for Markdown links to repository files or anchors."""
    broken = []
    for rel in md_files:
        text = open(osp.join(ROOT, rel), encoding='utf-8').read()
        text = re.sub(r'```.*?```', '', text, flags=re.S)
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if re.match(r'[a-z]+:', target):  # https:, mailto:
                continue
            path, _, anchor = target.partition('#')
            full = osp.normpath(osp.join(osp.dirname(osp.join(ROOT, rel)), path)) if path \
                else osp.join(ROOT, rel)
            if not osp.exists(full):
                broken.append((rel, target, 'no such file'))
            elif anchor and full.endswith('.md') and anchor not in headings(full)[1]:
                broken.append((rel, target, 'no such section'))
    return broken


POINTER = re.compile(r'(docs/[\w-]+\.md|README)(?:#([\w-]+)|,? "([^"]+)"|\'s "([^"]+)")?')


def broken_pointers(files):
    """``[(file, pointer, why)]`` for the pointers in code/config/script text."""
    broken = []
    for rel in files:
        text = open(osp.join(ROOT, rel), encoding='utf-8', errors='replace').read()
        for m in POINTER.finditer(text):
            target = 'README.md' if m.group(1) == 'README' else m.group(1)
            full = osp.join(ROOT, target)
            if not osp.isfile(full):
                broken.append((rel, m.group(0), 'no such file'))
                continue
            texts, slugs = headings(full)
            if m.group(2) and m.group(2) not in slugs:
                broken.append((rel, m.group(0), 'no such anchor'))
            section = m.group(3) or m.group(4)
            if section and not any(t.startswith(section.lower()) for t in texts):
                broken.append((rel, m.group(0), 'no such section'))
    return broken


def test_markdown_links_resolve():
    md = [f for f in _tracked('.md') if f == 'README.md' or f.startswith(('docs/', 'configs/'))]
    assert len(md) > 10
    assert broken_links(md) == []


def test_pointers_in_code_and_messages_resolve():
    files = [f for f in _tracked('.py', '.sh', '.yml') if not f.startswith('tests/test_doc_links')]
    assert broken_pointers(files) == []


def test_the_checks_can_fail(tmp_path):
    """A planted broken link and pointer are reported."""
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'a.md').write_text('# A\n\n## Real section\n\n[x](b.md) [y](a.md#nope)\n')
    (tmp_path / 'README.md').write_text('# R\n')
    (tmp_path / 'code.py').write_text("""'see docs/a.md, "Real section"; docs/a.md#real-section; '
'README, "Missing"; docs/gone.md'
""")
    global ROOT
    saved, ROOT = ROOT, str(tmp_path)
    try:
        links = broken_links(['docs/a.md'])
        pointers = broken_pointers(['code.py'])
    finally:
        ROOT = saved
    assert [(t, why) for _, t, why in links] == [('b.md', 'no such file'),
                                                 ('a.md#nope', 'no such section')]
    assert [(p, why) for _, p, why in pointers] == [('README, "Missing"', 'no such section'),
                                                    ('docs/gone.md', 'no such file')]
