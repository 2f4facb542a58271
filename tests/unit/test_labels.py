"""rigshift.labels is the one owner of the node label and taint keys: the components import
them, the roles read them from the rendered `rigshift_labels`, and nobody else spells them."""

from __future__ import annotations

import ast
from pathlib import Path

from rigshift import labels
from rigshift.components.admission import NODES_LABEL, TENANT_LABEL
from tests.conftest import ROOT

SRC = ROOT / "src" / "rigshift"
# What the roles that set node labels hold besides their README.
ROLE_FILES = [
    path
    for role in ("kubernetes", "gpu_stack")
    for part in ("tasks", "templates", "defaults", "vars", "filter_plugins")
    for path in sorted((ROOT / "playbooks" / "roles" / role / part).glob("**/*"))
    if path.is_file()
]


def spellings() -> set[str]:
    """Every key the owner holds, the prefix they share, and the keys of earlier versions (but
    the namespace labels, which still hold those names on namespaces)."""
    retired = set(labels.RETIRED_NODE_KEYS) - {TENANT_LABEL, NODES_LABEL}
    return {
        labels.NODE_RESTRICTED_PREFIX,
        *labels.NODE_LABELS.values(),
        *labels.NODE_TAINTS.values(),
        *retired,
    }


def string_literals(path: Path) -> list[str]:
    """The string constants of a module's code: its docstrings (prose) left out."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_other_module_spells_a_node_label_key() -> None:
    owner = SRC / "labels.py"
    found = {
        (str(path.relative_to(ROOT)), text)
        for path in sorted([*SRC.rglob("*.py"), ROOT / "stacks" / "__main__.py"])
        if path != owner
        for literal in string_literals(path)
        for text in spellings()
        if text in literal
    }
    assert found == set()


def test_the_roles_take_every_node_label_key_from_rigshift_labels() -> None:
    assert ROLE_FILES, "no role files found"
    found = {
        (str(path.relative_to(ROOT)), text)
        for path in ROLE_FILES
        for text in spellings()
        if text in path.read_text(errors="replace")
    }
    assert found == set()


def test_every_rigshift_node_label_and_taint_is_one_no_kubelet_may_set() -> None:
    keys = {*labels.NODE_LABELS.values(), *labels.NODE_TAINTS.values()}
    # NVIDIA's key is the one exception: it only picks the node's own time-slicing config.
    keys.discard(labels.DEVICE_PLUGIN_CONFIG_LABEL)
    assert keys and all(key.startswith(labels.OWNED_PREFIX) for key in keys)
    assert labels.OWNED_PREFIX.startswith("node-restriction.kubernetes.io/")


def test_a_health_record_may_set_health_keys_only() -> None:
    assert set(labels.HEALTH_LABELS) <= set(labels.NODE_LABELS)
    assert set(labels.HEALTH_TAINTS) <= set(labels.NODE_TAINTS)
    chosen_by_the_plan = {"pool", "gpu_class", "gpu_acceptance", "device_plugin_config"}
    assert not chosen_by_the_plan & {*labels.HEALTH_LABELS, *labels.HEALTH_TAINTS}
