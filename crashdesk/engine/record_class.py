"""``Record``: the engine's value classes, declared like dataclasses and built in a few microseconds.

The stackwalker's classes (frames, symbol answers, decoded instructions, cache entries) sit on the path of
every ``crashdesk stackwalk``, which people run once per dump. :mod:`dataclasses` costs ~7 ms to import
(it imports :mod:`inspect`) and ~0.5 ms per class (it compiles six methods for a frozen class), about half
of the command's own start-up. A record keeps a dataclass's class body and is built in ~0.1 ms, once: the
options are the class statement's keywords, read by ``Record``'s metaclass before the class is created
(``__slots__`` cannot be added afterwards, so a decorator would build each slotted class twice)::

    class FrameInfo(Record, frozen=True, slots=True):
        name: str
        size: int = 0

What it gives is the part of ``@dataclass`` the engine uses, with the same meaning:

* fields are the class's annotations, in order; a value in the class body is the default,
  ``field(default_factory=list)`` a fresh default per instance;
* ``__init__`` (positional or keyword; generic for a class's first instances, then compiled, as fast as a
  dataclass's),
  ``__repr__``, ``__eq__`` (same class and equal fields);
* ``frozen=True``: assignment raises :class:`FrozenInstanceError` and instances hash by their fields;
  otherwise they are unhashable, as an ``eq`` dataclass is;
* ``slots=True``: the class has ``__slots__`` (no instance ``__dict__``); records pickle by their fields;
* :func:`replace`: a copy with some fields changed.

Not supported (refused or absent): ``ClassVar`` annotations, inheritance between records (a record class
derives from ``Record`` alone), ``__post_init__``,
ordering, per-field options other than ``default_factory``.

``TupleRecord`` is for the kinds a minidump holds many of (stream entries, threads, memory regions and info,
handles, protection ranges): a tuple with named fields, as ``collections.namedtuple`` makes one, declared with
its field names as a class keyword::

    class MemoryRegion(TupleRecord, fields="base size file_offset"):
        __slots__ = ()

Made as cheaply as a named tuple, and defined by a plain class statement (``namedtuple`` compiles a ``__new__``
for each class, ~0.45M instructions of every stackwalk per class); a field is read through a property.
"""

from __future__ import annotations

from operator import attrgetter, itemgetter

_MISSING = object()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a ``frozen=True`` record."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make) -> None:
        self.make = make


def field(*, default_factory):
    """A field whose default is ``default_factory()``, made anew for each instance."""
    return _Factory(default_factory)


def _repr(self) -> str:
    values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_fields__)
    return f"{type(self).__qualname__}({values})"


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return self.__record_values__(self) == self.__record_values__(other)


def _hash(self) -> int:
    return hash(self.__record_values__(self))


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _no_values(_self) -> tuple:
    return ()


def _getstate(self) -> tuple:
    return tuple(getattr(self, n) for n in self.__record_fields__)


def _setstate(self, state: tuple) -> None:
    for name, value in zip(self.__record_fields__, state, strict=True):
        object.__setattr__(self, name, value)  # also for frozen records


def _init_source(names: list[str], defaults: dict, frozen: bool) -> str:
    params, body = ["self"], []
    for name in names:
        default = defaults.get(name, _MISSING)
        if default is _MISSING:
            params.append(name)
        elif isinstance(default, _Factory):
            params.append(f"{name}=_MISSING")
            body.append(f" if {name} is _MISSING: {name} = _defaults[{name!r}].make()")
        else:
            params.append(f"{name}=_defaults[{name!r}]")
    for name in names:
        body.append(f" _set(self, {name!r}, {name})" if frozen else f" self.{name} = {name}")
    return f"def __init__({', '.join(params)}):\n" + ("\n".join(body) or " pass") + "\n"


class _RecordType(type):
    """The metaclass of :class:`Record`: it turns a class body into a record class as the class is created
    (``__slots__`` must be in the namespace before: a decorator would build every class twice, ~0.1 ms each)."""

    def __new__(mcls, name, bases, namespace, *, frozen: bool = False, slots: bool = False):
        if not bases:  # Record itself
            return super().__new__(mcls, name, bases, namespace)
        if bases != (Record,):
            raise TypeError(f"{name}: a record class derives from Record alone (no inheritance between records)")
        annotations = namespace.get("__annotations__", {})
        names = list(annotations)
        if any("ClassVar" in str(a) for a in annotations.values()):
            raise TypeError(f"{name}: ClassVar annotations are not supported by records")
        defaults = {n: namespace[n] for n in names if n in namespace}
        seen_default = False
        for field_name in names:  # the rule a def's parameters follow
            if field_name in defaults:
                seen_default = True
            elif seen_default:
                raise TypeError(f"{name}: non-default field {field_name!r} follows a default field")
        if slots:
            for field_name in names:
                namespace.pop(field_name, None)  # a class attribute would shadow the slot
            namespace["__slots__"] = tuple(names)
        namespace["__record_fields__"] = tuple(names)
        namespace["__record_values__"] = attrgetter(*names) if names else staticmethod(_no_values)  # in C
        namespace["__hash__"] = _hash if frozen else None
        if frozen:
            namespace["__setattr__"] = _frozen_setattr
            namespace["__delattr__"] = _frozen_delattr
        qualname = f"{namespace.get('__qualname__', name)}.__init__"
        namespace["__init__"] = _first_init(qualname, names, defaults, frozen)
        return super().__new__(mcls, name, bases, namespace)


class Record(metaclass=_RecordType):
    """The base of a record class: ``class Frame(Record, frozen=True, slots=True):`` with annotated fields
    (see the module's text)."""

    __slots__ = ()
    __repr__ = _repr
    __eq__ = _eq
    __getstate__ = _getstate  # pickling (worker processes): a slotted record has no __dict__ to copy
    __setstate__ = _setstate


#: Instances a record class makes with the generic ``__init__`` before it compiles its own (see :func:`_first_init`).
COMPILE_AFTER = 16


def _first_init(qualname: str, names: list[str], defaults: dict, frozen: bool):
    """The ``__init__`` a record class starts with: a generic one, which binds the arguments by name as the
    compiled one does. Compiling a class's own ``__init__`` (a small def, as fast as a dataclass's) costs
    ~0.2 ms, and a stackwalk makes a dozen record classes' instances a few times each: the class compiles its
    own at its :data:`COMPILE_AFTER`-th instance (frames, symbol answers of a big dump or a long-lived worker),
    and a class a run never instantiates (many on the stackwalker's path) never pays for it."""
    fields = frozenset(names)
    set_field = object.__setattr__ if frozen else setattr
    made = 0

    def __init__(self, *args, **kwargs):
        nonlocal made
        made += 1
        if made >= COMPILE_AFTER:
            namespace = {"_MISSING": _MISSING, "_defaults": defaults, "_set": object.__setattr__}
            exec(_init_source(names, defaults, frozen), namespace)
            real = namespace["__init__"]
            real.__qualname__ = qualname
            type(self).__init__ = real  # records have no subclasses: the record class
            real(self, *args, **kwargs)
            return
        if len(args) > len(names):
            raise TypeError(f"{qualname}() takes {len(names) + 1} positional arguments but {len(args) + 1} were given")
        values = dict(zip(names, args, strict=False))  # fewer arguments than fields: defaults below
        for name, value in kwargs.items():
            if name not in fields:
                raise TypeError(f"{qualname}() got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{qualname}() got multiple values for argument {name!r}")
            values[name] = value
        for name in names:
            if name in values:
                value = values[name]
            else:
                value = defaults.get(name, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{qualname}() missing required argument: {name!r}")
                if isinstance(value, _Factory):
                    value = value.make()
            set_field(self, name, value)

    __init__.__qualname__ = qualname
    return __init__


def replace(obj, /, **changes):
    """A copy of the record ``obj`` with ``changes`` applied (as :func:`dataclasses.replace`)."""
    values = {n: getattr(obj, n) for n in obj.__record_fields__}
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    values.update(changes)
    return type(obj)(**values)


_tuple_new = tuple.__new__


class TupleRecord(tuple):
    """A tuple whose items are named by the subclass's ``fields`` keyword (names separated by spaces).

    Positional arguments only; ``repr`` names the fields; equal to any tuple of the same items; pickles and copies
    as the named tuple it replaces."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _arity = 0  # len(_fields)

    def __init_subclass__(cls, fields: str, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._fields = tuple(fields.split())
        cls._arity = len(cls._fields)
        for index, name in enumerate(cls._fields):
            setattr(cls, name, property(itemgetter(index), doc=f"item {index}"))

    def __new__(cls, *values):
        if len(values) == cls._arity:  # the usual case first: as fast as a named tuple's compiled __new__
            return _tuple_new(cls, values)
        raise TypeError(f"{cls.__name__} takes {cls._arity} values ({' '.join(cls._fields)}), {len(values)} given")

    def __getnewargs__(self) -> tuple:
        return tuple(self)

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True))
        return f"{type(self).__qualname__}({values})"
