"""A ``Record`` class behaves as a ``@dataclass`` for what the engine uses: the same class body as a record and
under the decorator gives the same constructor, repr, equality, hashing, immutability, pickling and ``replace`` (the standard
library's dataclasses are the reference here)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import ClassVar

import pytest

from crashdesk.engine import record_class


def _pair(frozen: bool, slots: bool):
    """One class body built as a record and by the decorator."""

    def body(field, *bases, **options):
        class Point(*bases, **options):
            """A point."""

            x: int
            y: int | None = None
            tags: tuple = field(default_factory=tuple)
            seen: list = field(default_factory=list)
            limit = 99  # not annotated: a class attribute, not a field

            @property
            def total(self) -> int:
                return self.x + (self.y or 0)

        return Point

    ours = body(record_class.field, record_class.Record, frozen=frozen, slots=slots)
    ref = dataclasses.dataclass(frozen=frozen, slots=slots)(body(dataclasses.field))
    return ours, ref


FLAVOURS = [(False, False), (False, True), (True, False), (True, True)]


@pytest.mark.parametrize(("frozen", "slots"), FLAVOURS)
def test_construction_repr_and_equality_match_dataclasses(frozen, slots):
    ours, ref = _pair(frozen, slots)
    for args, kwargs in (((1,), {}), ((1, 2), {}), ((1,), {"tags": ("a",)}), ((), {"x": 3, "y": 4, "seen": [1]})):
        a, b = ours(*args, **kwargs), ref(*args, **kwargs)
        assert repr(a).replace(ours.__qualname__, "P") == repr(b).replace(ref.__qualname__, "P")
        assert a == ours(*args, **kwargs) and (a != b)  # equal within a class, never across classes
        assert a.total == b.total and a.limit == b.limit == 99
    assert ours(1).seen is not ours(1).seen  # a fresh default per instance
    assert ours(1) != ours(2) and ours(1, 2) != ours(1, 3)
    for bad_args, bad_kwargs in (((), {}), ((1, 2, (), [], 5), {}), ((1,), {"x": 1}), ((1,), {"z": 1})):
        with pytest.raises(TypeError):
            ref(*bad_args, **bad_kwargs)
        with pytest.raises(TypeError):
            ours(*bad_args, **bad_kwargs)


@pytest.mark.parametrize(("frozen", "slots"), FLAVOURS)
def test_the_constructor_is_compiled_at_the_nth_instance_and_builds_the_same(frozen, slots):
    """A class compiles its own ``__init__`` only at its ``COMPILE_AFTER``-th instance (start-up: a run makes
    most record classes' instances a few times, and a class no run instantiates never compiles); instances
    built before and after are the dataclass's, and wrong calls fail as the dataclass's do, before and after."""
    bad_calls = (((), {}), ((1, 2, (), [], 5), {}), ((1,), {"x": 1}), ((1,), {"z": 1}), ((), {"y": 2}))
    ours, ref = _pair(frozen, slots)
    generic = ours.__init__
    expected = repr(ref(1, 2, tags=("t",))).replace(ref.__qualname__, "P")
    before = []
    for _ in range(record_class.COMPILE_AFTER - 1):
        before.append(ours(1, 2, tags=("t",)))
        assert ours.__init__ is generic
    assert {repr(a).replace(ours.__qualname__, "P") for a in before} == {expected}
    assert before[0].seen is not before[1].seen  # a fresh default per instance
    after = ours(1, 2, tags=("t",))
    compiled = ours.__init__
    assert compiled is not generic and compiled.__qualname__ == generic.__qualname__
    assert after == before[0] and repr(after).replace(ours.__qualname__, "P") == expected
    assert ours(x=3).seen is not ours(x=3).seen and ours.__init__ is compiled
    for args, kwargs in bad_calls:
        with pytest.raises(TypeError):
            ours(*args, **kwargs)
    fresh, _ = _pair(frozen, slots)
    for args, kwargs in bad_calls:  # the generic constructor refuses them too
        with pytest.raises(TypeError):
            ref(*args, **kwargs)
        with pytest.raises(TypeError):
            fresh(*args, **kwargs)
    assert fresh.__init__ is not ours.__init__ and fresh(1, 2, tags=("t",)) == fresh(1, 2, ("t",))


@pytest.mark.parametrize(("frozen", "slots"), FLAVOURS)
def test_hash_immutability_and_slots_match_dataclasses(frozen, slots):
    ours, ref = _pair(frozen, slots)
    a, b = ours(1, 2, ("t",), []), ref(1, 2, ("t",), [])
    assert hasattr(a, "__dict__") == hasattr(b, "__dict__")
    if frozen:
        a = ours(1, 2, ("t",), None)  # a hashable value in every field
        b = ref(1, 2, ("t",), None)
        assert hash(a) == hash(ours(1, 2, ("t",), None))
        assert hash(a) != hash(ours(1, 3, ("t",), None))
        with pytest.raises(dataclasses.FrozenInstanceError):
            b.x = 5
        with pytest.raises(AttributeError):
            a.x = 5
        with pytest.raises(AttributeError):
            del a.x
        assert a.x == 1
    else:
        with pytest.raises(TypeError):
            hash(b)
        with pytest.raises(TypeError):
            hash(a)
        a.x = 7
        assert a.x == 7


@pytest.mark.parametrize(("frozen", "slots"), FLAVOURS)
def test_pickle_copy_and_replace(frozen, slots):
    ours, _ref = _pair(frozen, slots)
    globals()["Point"] = ours  # pickle finds the class by its module-level name
    ours.__qualname__ = "Point"
    try:
        a = ours(1, 2, ("t",), [3])
        assert pickle.loads(pickle.dumps(a)) == a
        assert copy.deepcopy(a) == a and copy.copy(a) == a
    finally:
        del globals()["Point"]
    changed = record_class.replace(a, y=5)
    assert changed == ours(1, 5, ("t",), [3]) and a.y == 2
    with pytest.raises(TypeError):
        record_class.replace(a, nope=1)


def test_a_field_without_default_after_one_with_is_refused_as_dataclasses_does():
    class Bad:
        a: int = 1
        b: int

    with pytest.raises(TypeError):
        dataclasses.dataclass(type("Bad", (), dict(Bad.__dict__)))
    with pytest.raises(TypeError):
        type("Bad", (record_class.Record,), dict(Bad.__dict__))


def test_a_class_variable_annotation_is_refused_rather_than_made_a_field():
    class WithClassVar:
        a: int
        registry: ClassVar[dict] = {}

    assert [f.name for f in dataclasses.fields(dataclasses.dataclass(type("W", (), dict(WithClassVar.__dict__))))] \
        == ["a"]
    with pytest.raises(TypeError):
        type("W", (record_class.Record,), dict(WithClassVar.__dict__))


def test_a_record_class_is_built_once_and_records_do_not_inherit_from_records():
    """The class statement makes the record class itself (``__slots__`` in place as it is created), and a
    subclass of a record is refused, as inheritance between records is not supported."""
    named = []

    class Named:  # a descriptor: each class creation tells it its owner
        def __set_name__(self, owner, name):
            named.append(owner)

    class P(record_class.Record, frozen=True, slots=True):
        x: int
        marker = Named()

    assert named == [P]  # created once, as the final class (a rebuilt class would have been named too)
    assert P.__slots__ == ("x",) and not hasattr(P(1), "__dict__") and P(1).x == 1
    with pytest.raises(TypeError):
        class Q(P):
            y: int
    with pytest.raises(TypeError):
        class R(record_class.Record, int):
            y: int


@pytest.mark.parametrize("fields", [(), ("x",), ("x", "y")])
def test_equality_and_hash_with_zero_one_or_more_fields(fields):
    ours = type(record_class.Record)("R", (record_class.Record,), {"__annotations__": dict.fromkeys(fields, "int")},
                                     frozen=True)
    ref = dataclasses.dataclass(frozen=True)(type("R", (), {"__annotations__": dict.fromkeys(fields, "int")}))
    values = list(range(len(fields)))
    assert (ours(*values) == ours(*values)) == (ref(*values) == ref(*values)) is True
    assert hash(ours(*values)) == hash(ours(*values))
    if fields:
        other = [v + 1 for v in values]
        assert (ours(*values) == ours(*other)) == (ref(*values) == ref(*other)) is False


class _Region(record_class.TupleRecord, fields="base size file_offset"):
    __slots__ = ()


def test_tuple_record_behaves_as_the_named_tuple_it_replaces():
    """Against ``collections.namedtuple``: fields, tuple equality and hash, repr, pickle, copy, wrong arity."""
    from collections import namedtuple

    ref_class = namedtuple("_Region", "base size file_offset")
    ours, ref = _Region(0x1000, 16, 40), ref_class(0x1000, 16, 40)
    assert ours._fields == ref._fields
    assert [getattr(ours, f) for f in ours._fields] == [getattr(ref, f) for f in ref._fields]
    assert ours == ref == (0x1000, 16, 40) and hash(ours) == hash(ref) and list(ours) == list(ref)
    assert repr(ours) == repr(ref)
    assert not hasattr(ours, "__dict__")
    for again in (pickle.loads(pickle.dumps(ours)), copy.copy(ours), copy.deepcopy(ours)):
        assert type(again) is _Region and again == ours
    for values in ((1, 2), (1, 2, 3, 4)):
        with pytest.raises(TypeError):
            ref_class(*values)
        with pytest.raises(TypeError):
            _Region(*values)
    with pytest.raises(AttributeError):
        ours.base = 0
