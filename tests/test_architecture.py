"""The floor plan holds: imports point one way, and only services write.

1. Dependencies point ``scenarios → awareness → reserve → incidents → liaison → csoa_portal``: no module imports
   an app to its left, function-level imports included (read with ``ast``, not by
   importing, so an import hidden in a function body counts too). The project wiring
   that mounts an app's code is named in ``WIRING`` with its reason.
2. Views, API views and serializers, consumers and admin modules never write models:
   no ``save``/``delete``/``create``/``update``/``bulk_*``/``get_or_create``/
   ``update_or_create``, no permission grants (``assign_perm``/``remove_perm``), no
   related-manager ``add``/``remove``/``set``/``clear``, no audit entry or Event of
   their own. They call a service, which does all of it in one transaction.
3. Every registered ModelAdmin is read-only, or writes through a service: the
   ``save_model``/``delete_model``/``delete_queryset``/``save_formset`` it may reach call
   a function of a ``services`` module, the model's own app's for the portal's models,
   and a model with many-to-many fields has a ``save_related`` that leaves them to the
   service (Django's own calls ``form.save_m2m()``).

Each violation is reported as ``file:line``.
"""

import ast
import inspect
import textwrap
from pathlib import Path

import pytest
from django.contrib import admin

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["csoa_portal", "liaison", "incidents", "reserve", "awareness", "scenarios"]  # each may import only those before it
WIRING = {
    # module: (apps it may import despite the direction, why)
    "csoa_portal/routing.py": ({"liaison"}, "mounts the live stream's consumer (liaison.consumers) on /ws/events/"),
}
WRITE_MODULES = ["*/views.py", "*/api/views.py", "*/api/serializers.py", "*/consumers.py", "*/admin.py",
                 "csoa_portal/*views*.py", "csoa_portal/*/views.py"]

ALWAYS_WRITES = {"create", "bulk_create", "bulk_update", "get_or_create", "update_or_create", "assign_perm",
                 "remove_perm", "record_event"}
QUERYSET_METHODS = {"filter", "exclude", "all", "select_for_update", "select_related", "prefetch_related", "order_by"}
RELATED_MANAGER_WRITES = {"add", "remove", "set", "clear"}


def _python_files(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _where(path: Path, node) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def _imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node, node.args[0].value


def import_violations() -> list[str]:
    found = []
    for position, app in enumerate(LAYERS):
        for path in _python_files(app):
            relative = str(path.relative_to(ROOT))
            allowed, _why = WIRING.get(relative, (set(), ""))
            for node, module in _imported_modules(ast.parse(path.read_text())):
                top = module.split(".")[0]
                if top in LAYERS[position + 1:] and top not in allowed:
                    found.append(f"{_where(path, node)} {app} imports {module}")
    return found


def test_apps_import_only_to_their_right():
    assert import_violations() == []


def test_the_wiring_exceptions_are_still_needed():
    """An exception nobody uses any more is removed, so the list stays exactly the wiring."""
    for relative, (allowed, why) in WIRING.items():
        modules = {m.split(".")[0] for _, m in _imported_modules(ast.parse((ROOT / relative).read_text()))}
        assert allowed <= modules, f"{relative} no longer imports {allowed - modules} ({why}): drop it from WIRING"


def test_the_import_check_sees_function_level_imports(tmp_path):
    tree = ast.parse("def f():\n    from reserve.models import Engagement\n    import incidents.selectors\n")
    assert {m for _, m in _imported_modules(tree)} == {"reserve.models", "incidents.selectors"}


# --- writes -----------------------------------------------------------------------------------


def _receiver_chain(node) -> list[str]:
    """``Incident.objects.filter(x).update`` → ["Incident", "objects", "filter()"]."""
    chain = []
    while True:
        if isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            inner = node.func
            chain.append((inner.attr if isinstance(inner, ast.Attribute) else getattr(inner, "id", "?")) + "()")
            node = inner.value if isinstance(inner, ast.Attribute) else inner
            if not isinstance(inner, ast.Attribute):
                break
        else:
            chain.append(getattr(node, "id", "?"))
            break
    return list(reversed(chain))


def _write_call(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id if func.id in ALWAYS_WRITES else None
    if not isinstance(func, ast.Attribute):
        return None
    name, receiver = func.attr, _receiver_chain(func.value)
    keywords = {k.arg: k.value for k in call.keywords}
    if name in ALWAYS_WRITES:
        return name
    if name == "record" and receiver == ["audit"]:
        return "audit.record"
    if name == "save":
        commit = keywords.get("commit")
        return None if isinstance(commit, ast.Constant) and commit.value is False else "save"
    if name == "delete":
        return "delete"
    if name == "update" and ("objects" in receiver or any(p[:-2] in QUERYSET_METHODS for p in receiver if p.endswith("()"))):
        return "queryset update"
    if name in RELATED_MANAGER_WRITES and len(receiver) >= 2 and receiver[0] != "self":
        return f"related manager {name}"  # obj.groups.add(…); a local set (seen.add) has no attribute
    return None


def _write_module_paths():
    seen = set()
    for pattern in WRITE_MODULES:
        for path in sorted(ROOT.glob(pattern)):
            if path.parts[len(ROOT.parts)] in LAYERS and path not in seen:
                seen.add(path)
                yield path


def write_violations() -> list[str]:
    found = []
    for path in _write_module_paths():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and (what := _write_call(node)):
                found.append(f"{_where(path, node)} {what}: {ast.unparse(node)[:90]}")
    return found


def test_views_serializers_consumers_and_admin_modules_write_nothing_themselves():
    assert write_violations() == []


@pytest.mark.parametrize(("code", "writes"), [
    ("Incident.objects.create(title='x')", True),
    ("Incident.objects.filter(pk=1).update(title='x')", True),
    ("incident.save()", True),
    ("form.save()", True),
    ("formset.save(commit=False)", False),
    ("user.groups.add(group)", True),
    ("assign_perm('view', group, incident)", True),
    ("audit.record(actor=user, action='x', obj=incident)", True),
    ("context.update(extra)", False),
    ("seen.add(1)", False),
    ("self.members.add(consumer)", False),
    ("services.share_incident(actor=user, incident=incident)", False),
])
def test_the_write_check_tells_writes_from_reads(code, writes):
    assert (_write_call(ast.parse(code).body[0].value) is not None) is writes


# --- the admin --------------------------------------------------------------------------------


def _project_app(module_name: str) -> str | None:
    top = module_name.split(".")[0]
    return top if top in LAYERS else None


def _services_called(function) -> set[str]:
    """The modules of the service functions ``function`` calls (``services.share_incident`` → its module)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError):
        return set()
    names = function.__globals__
    modules = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        root = node.func
        while isinstance(root, ast.Attribute):
            root = root.value
        target = names.get(getattr(root, "id", None))
        module = getattr(target, "__name__", None) if inspect.ismodule(target) else getattr(target, "__module__", None)
        if module and "services" in module.split(".")[-2:]:  # x.services, or a function of x.services.y
            modules.add(module)
    return modules


def _never(model_admin, permission: str) -> bool:
    """The admin's ``has_<permission>_permission`` answers False for everyone (its every return is ``False``).

    Read from the source, not asked of a person: whether an admin writes must not depend
    on who the test pretends to be (registry edits are allowed by a capability, say).
    """
    method = getattr(type(model_admin), f"has_{permission}_permission")
    if not _project_app(method.__module__):
        return False  # Django's default: staff with the model permission may
    function = ast.parse(textwrap.dedent(inspect.getsource(method))).body[0]
    returns = [node for node in ast.walk(function) if isinstance(node, ast.Return)]
    return bool(returns) and all(isinstance(r.value, ast.Constant) and r.value.value is False for r in returns)


def _admin_write_methods(model_admin) -> list[str]:
    methods = []
    if not (_never(model_admin, "add") and _never(model_admin, "change")):
        methods.append("save_model")
        if model_admin.model._meta.many_to_many:
            methods.append("save_related")  # Django's own calls form.save_m2m()
        if model_admin.inlines:
            methods.append("save_formset")
    if not _never(model_admin, "delete"):
        methods += ["delete_model", "delete_queryset"]
    return methods


def admin_violations() -> list[str]:
    found = []
    for model, model_admin in admin.site._registry.items():
        own_app = _project_app(model.__module__)
        for name in _admin_write_methods(model_admin):
            method = getattr(type(model_admin), name)
            where = f"{inspect.getsourcefile(method)}:{inspect.getsourcelines(method)[1]}"
            where = str(Path(where).relative_to(ROOT)) if where.startswith(str(ROOT)) else where
            called = _services_called(method)
            label = f"{type(model_admin).__name__}.{name} ({model._meta.label})"
            if name == "save_related" and _project_app(method.__module__):
                tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
                if any(isinstance(n, ast.Attribute) and n.attr == "save_m2m" for n in ast.walk(tree)):
                    found.append(f"{where} {label}: form.save_m2m() writes the many-to-many fields itself")
                continue  # the formsets are checked in save_formset
            if not _project_app(method.__module__):
                found.append(f"{where} {label}: Django's own write, no service")
            elif own_app and not any(m.startswith(f"{own_app}.services") for m in called):
                found.append(f"{where} {label}: calls no {own_app}.services function (calls {sorted(called) or 'none'})")
            elif not called:
                found.append(f"{where} {label}: calls no service")
    return found


def test_every_admin_is_read_only_or_writes_through_a_service(db):
    assert admin_violations() == []
