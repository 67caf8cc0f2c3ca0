"""Build step: compile the message catalogs (``locales/*/LC_MESSAGES/wbs.po``) to ``wbs.mo``.

Everything else about the package is in pyproject.toml. The compiled files
are build output, not sources (.gitignore): a wheel gets them in its build
directory, an editable install (``pip install -e``) beside the ``.po`` files.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def compile_catalogs(source: Path, target: Path) -> None:
    """Each ``source/<lang>/LC_MESSAGES/*.po`` to the same place under ``target`` as ``.mo``."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        with mo.open("wb") as f:
            write_mo(f, catalog)


SOURCE = Path(__file__).resolve().parent / "locales"


class build_py_with_catalogs(build_py):
    def run(self) -> None:
        super().run()
        compile_catalogs(SOURCE, SOURCE if self.editable_mode else Path(self.build_lib) / "locales")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        if self.editable_mode:
            return super().get_outputs(include_bytecode)
        target = Path(self.build_lib) / "locales"
        return super().get_outputs(include_bytecode) + [
            str(target / po.relative_to(SOURCE).with_suffix(".mo")) for po in SOURCE.glob("*/LC_MESSAGES/*.po")]


setup(cmdclass={"build_py": build_py_with_catalogs})
