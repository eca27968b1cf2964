"""Every public class has a numpydoc docstring with Parameters, Attributes and Examples.

The ``>>>`` lines of the Examples sections run as doctests (``--doctest-modules`` over
``skcontrast`` in pyproject.toml); this test checks that they are there, that every
constructor parameter is documented, and that numpydoc can parse each docstring.
"""

import inspect

import pytest

import skcontrast

numpydoc_docscrape = pytest.importorskip("numpydoc.docscrape")

PUBLIC_CLASSES = [
    getattr(skcontrast, name)
    for name in skcontrast.__all__
    if inspect.isclass(getattr(skcontrast, name))
]


def test_all_public_names_are_covered():
    names = {cls.__name__ for cls in PUBLIC_CLASSES}
    assert names == set(skcontrast.__all__) - {"__version__"}


def _doc(cls):
    return numpydoc_docscrape.ClassDoc(cls, config={"show_class_members": False})


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_docstring_sections(cls):
    doc = _doc(cls)
    assert doc["Summary"] and doc["Summary"][0].strip(), f"{cls.__name__}: no summary line"
    for section in ("Parameters", "Attributes", "Examples"):
        assert doc[section], f"{cls.__name__} has no {section} section"
    examples = "\n".join(doc["Examples"])
    assert ">>> " in examples, f"{cls.__name__}'s Examples section has no doctest"
    assert "import" in examples, f"{cls.__name__}'s Examples should show the imports"


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_every_parameter_is_documented(cls):
    documented = set()
    for param in _doc(cls)["Parameters"]:
        documented.update(name.strip() for name in param.name.split(","))
    expected = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    missing = [p for p in expected if p not in documented]
    assert not missing, f"{cls.__name__}: parameters without documentation: {missing}"
    extra = documented - set(expected)
    assert not extra, f"{cls.__name__}: documented parameters that do not exist: {sorted(extra)}"


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_attributes_end_with_underscore(cls):
    for attr in _doc(cls)["Attributes"]:
        for name in attr.name.split(","):
            assert name.strip().endswith("_"), f"{cls.__name__}: fitted attribute {name!r}"
