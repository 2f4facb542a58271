"""One owner of the site folder's names: no module but the layout spells them in a path.

Spelled paths were where the real bugs came from (a stack config written where the preview did
not look, a kubeconfig path built from the site's name), so this reads every module's syntax
tree and refuses the names anywhere outside `rigshift.paths`, docstrings and comments aside.
"""

from __future__ import annotations

import ast

from rigshift import paths

OWNED = ("generated", "hosts.yml", "lab-connection.yml", "kubeconfig")
CODE = [
    p
    for folder in ("src", "stacks", "bench")
    for p in sorted((paths.ROOT / folder).rglob("*.py"))
    if p != paths.ROOT / "src" / "rigshift" / "paths.py"
]


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def spelled_paths(source: str) -> list[str]:
    """Each string in `source` that names a file or folder the layout owns, as a path would."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    # `x / "kubeconfig"`: the bare word is a path only where it is joined into one.
    joined = {
        id(side)
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
        for side in (node.left, node.right)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        text, parts = node.value, node.value.split("/")
        file_or_folder = any(p in OWNED[:3] for p in parts)
        kubeconfig = text == "kubeconfig" and id(node) in joined
        kubeconfig_path = len(parts) > 1 and "kubeconfig" in parts
        if id(node) not in skip and (file_or_folder or kubeconfig or kubeconfig_path):
            found.append(text)
    return found


def test_the_check_finds_spelled_paths() -> None:
    assert sorted(spelled_paths('p = site / "generated" / "hosts.yml"')) == [
        "generated",
        "hosts.yml",
    ]
    assert spelled_paths('p = root / "kubeconfig"') == ["kubeconfig"]
    assert spelled_paths('q = "inventories/lab/generated/x"') == ["inventories/lab/generated/x"]
    # A Pulumi config key and a resource name are not paths.
    assert spelled_paths('c.get_secret("kubeconfig"); n = f"{name}-kubeconfig"') == []
    assert spelled_paths('def f():\n    """Writes generated/hosts.yml."""\n') == []


def test_only_the_layout_spells_the_site_folders_names() -> None:
    offenders = {
        str(p.relative_to(paths.ROOT)): found
        for p in CODE
        if (found := spelled_paths(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "ask rigshift.paths.SiteLayout for these paths instead"
