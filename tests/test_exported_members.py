"""The public API is exactly ``groupops.__all__``: sorted, importable, nothing private."""

import inspect

import groupops


def test_all_is_sorted_and_unique():
    assert list(groupops.__all__) == sorted(set(groupops.__all__))


def test_every_exported_name_exists_and_is_public_module_owned():
    for name in groupops.__all__:
        obj = getattr(groupops, name)
        if not (isinstance(obj, type) or inspect.isfunction(obj)):
            continue  # constants and type aliases such as Condition
        module = getattr(obj, "__module__", "groupops")
        assert module.startswith("groupops"), (name, module)


def test_py_typed_is_shipped():
    from importlib.resources import files

    assert files("groupops").joinpath("py.typed").is_file()
