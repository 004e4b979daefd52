"""Our top-level constructs/ folder joins the `constructs` library's namespace instead of hiding it.

The library's __init__ calls pkgutil.extend_path, so a constructs/ folder on sys.path *without* an
__init__.py becomes part of the package: `constructs.Construct` is the library's class and
`constructs.naming` is our module.
"""

from __future__ import annotations

from pathlib import Path

import constructs
import constructs.naming

PROJECT_CONSTRUCTS = Path(__file__).resolve().parent.parent / "constructs"


def test_library_construct_class_is_the_jsii_one() -> None:
    assert constructs.Construct.__module__ == "constructs"
    assert "site-packages" in constructs.__file__


def test_project_modules_load_from_the_project_folder() -> None:
    assert Path(constructs.naming.__file__).parent == PROJECT_CONSTRUCTS


def test_project_folder_has_no_init_so_it_cannot_shadow_the_library() -> None:
    assert not (PROJECT_CONSTRUCTS / "__init__.py").exists()
    assert str(PROJECT_CONSTRUCTS) in list(constructs.__path__)
