"""Services send tasks by name and never import a tasks module; tasks import the services. Each name sent is a
registered task, so a renamed task fails here rather than in a worker's log. The selectors and the answer loader
import no service."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted([*ROOT.glob("annotation/services/*.py"), *ROOT.glob("training/services/*.py")])
SENDERS = {"enqueue", "enqueue_task"}


def imported_modules(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
            found.update(f"{'.' * node.level}{node.module or ''}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def sent_task_names(tree: ast.AST) -> list[str]:
    return [node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SENDERS
            and node.args and isinstance(node.args[0], ast.Constant)]


def test_no_service_imports_a_tasks_module():
    offenders = {path.name: sorted(m for m in imported_modules(ast.parse(path.read_text()))
                                   if m.split(".")[-1] == "tasks") for path in SERVICES}
    assert not {name: mods for name, mods in offenders.items() if mods}


def test_every_task_name_the_services_send_is_a_registered_task():
    from rlhf_site.celery import app

    app.loader.import_default_modules()
    sent = {name for path in SERVICES for name in sent_task_names(ast.parse(path.read_text()))}
    assert {"annotation.build_snapshot", "annotation.compute_agreement", "training.run_job"} <= sent
    assert sent <= set(app.tasks), sent - set(app.tasks)


def test_selectors_and_the_loader_import_no_service():
    """Reads sit below the services (which may call them): what both need lives below both."""
    below = {"annotation/selectors.py": "services", "annotation/loading.py": "services",
             "annotation/columns.py": "services"}
    offenders = {name: sorted(m for m in imported_modules(ast.parse((ROOT / name).read_text()))
                              if part in m.split(".")) for name, part in below.items()}
    assert offenders == dict.fromkeys(below, [])
    loader = imported_modules(ast.parse((ROOT / "annotation/loading.py").read_text()))
    assert not any("selectors" in m.split(".") for m in loader)
