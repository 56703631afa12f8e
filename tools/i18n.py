"""Message catalogue tooling: extract every user-facing message id and keep the .po files in step.

    python tools/i18n.py update   # add new message ids to every catalogue (existing translations kept)
    python tools/i18n.py check    # exit 1 if any message id lacks a zh-CN translation

Sources of message ids:
- templates: ``_("...")`` / ``gettext("...")`` calls, via Babel's Jinja2 extractor;
- Python: ``_()`` / ``N_()`` / ``gettext()`` calls, the ``title`` class attribute of every error
  class, and the first string argument of every call to an error class (``ValidationFailed("...")``),
  which is how services pass messages to the web layer.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "xinyidai"
LOCALE_DIR = PACKAGE / "locale"
LOCALES = ("zh_CN", "en")
GETTEXT_NAMES = {"_", "N_", "gettext", "translate"}


def _error_class_names() -> set[str]:
    sys.path.insert(0, str(ROOT / "src"))
    import importlib
    import pkgutil

    import xinyidai
    from xinyidai.core.errors import XydError

    for module in pkgutil.walk_packages(xinyidai.__path__, "xinyidai."):
        if ".migrations" in module.name or module.name.endswith(".cli"):
            continue
        importlib.import_module(module.name)
    names: set[str] = set()
    stack: list[type] = [XydError]
    while stack:
        cls = stack.pop()
        names.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    return names


def python_messages() -> Iterator[tuple[str, str]]:
    error_names = _error_class_names()
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = f"{path.relative_to(ROOT)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = (
                    node.func.id
                    if isinstance(node.func, ast.Name)
                    else (node.func.attr if isinstance(node.func, ast.Attribute) else None)
                )
                if name in GETTEXT_NAMES | error_names and node.args:
                    first = node.args[0]
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        yield first.value, f"{where}:{node.lineno}"
            elif isinstance(node, ast.ClassDef) and node.name in error_names:
                for stmt in node.body:
                    if (
                        isinstance(stmt, ast.AnnAssign | ast.Assign)
                        and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, str)
                    ):
                        targets = [stmt.target] if isinstance(stmt, ast.AnnAssign) else stmt.targets
                        if any(isinstance(t, ast.Name) and t.id == "title" for t in targets):
                            yield stmt.value.value, f"{where}:{stmt.lineno}"


def template_messages() -> Iterator[tuple[str, str]]:
    for path in sorted((PACKAGE / "web" / "templates").rglob("*.html")):
        for lineno, message, _comments, _context in extract_from_file(
            "jinja2",
            str(path),
            keywords={"_": None, "gettext": None},
            options={"extensions": "jinja2.ext.i18n"},
        ):
            if isinstance(message, str):
                yield message, f"{path.relative_to(ROOT)}:{lineno}"


def all_messages() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for message, where in [*python_messages(), *template_messages()]:
        if message.strip():
            found.setdefault(message, []).append(where)
    return found


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def read_catalogue(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, project="xinyidai")
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def update() -> None:
    messages = all_messages()
    for locale in LOCALES:
        old = read_catalogue(locale)
        new = Catalog(locale=locale, project="xinyidai", charset="utf-8")
        for msgid in sorted(messages):
            previous = old.get(msgid)
            new.add(
                msgid,
                previous.string if previous is not None else "",
                locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in messages[msgid][:3]],
            )
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, new, width=0, sort_output=True, omit_header=False)
        print(f"{locale}: {len(messages)} messages")


def untranslated(locale: str = "zh_CN") -> list[tuple[str, list[str]]]:
    catalogue = read_catalogue(locale)
    missing = []
    for msgid, where in sorted(all_messages().items()):
        entry = catalogue.get(msgid)
        if entry is None or not entry.string:
            missing.append((msgid, where))
    return missing


if __name__ == "__main__":
    if sys.argv[1:] == ["update"]:
        update()
    elif sys.argv[1:] == ["check"]:
        missing = untranslated()
        for msgid, where in missing:
            print(f"untranslated: {msgid!r} at {where[0]}")
        sys.exit(1 if missing else 0)
    else:
        print(__doc__)
        sys.exit(2)
