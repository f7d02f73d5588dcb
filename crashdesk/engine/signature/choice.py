"""Which signature profile signs a crash: one rule, used by every command and the app.

1. the product's row in the product -> profile table (Settings; ``<data-dir>/signature-profiles.json``);
2. a Mozilla product (``Firefox``, ``Fenix``, ``Thunderbird``...) -> ``mozilla``;
3. anything else -> the default (``generic`` unless the user chose another).

For ``crashdesk signature``, input that names no product (siggen-style ``{"crash_data": ...}``, bare crash
data, or a stackwalk whose annotations carry no product, as in Socorro's and siggen's own test data) is
signed with ``mozilla``: that is what such data is. Processing always has the crash's annotations and
applies steps 1-3 (no product -> the default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MOZILLA_PRODUCTS = frozenset({
    "firefox", "fenix", "focus", "thunderbird", "seamonkey", "firefoxreality", "reference-browser",
    "mozillavpn", "b2g", "geckoview",
})
DEFAULT_PROFILE = "generic"
#: profile for siggen-style crash data that names no product
CRASH_DATA_PROFILE = "mozilla"


def product_of(annotations: Any) -> str:
    """The product an annotation dict names (``ProductName``, Breakpad's ``prod``, a processed ``product``)."""
    if not isinstance(annotations, Mapping):
        return ""
    value = annotations.get("ProductName") or annotations.get("prod") or annotations.get("product") or ""
    return str(value)


def is_mozilla(annotations: Any) -> bool:
    return product_of(annotations).lower() in MOZILLA_PRODUCTS


@dataclass(frozen=True)
class ProfileChoice:
    """The rule's data: product -> profile rows (matched case-insensitively) and the default profile."""

    products: tuple[tuple[str, str], ...] = ()
    default: str = DEFAULT_PROFILE
    _index: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({p.lower(): name for p, name in self.products})

    def for_product(self, product: str) -> str:
        key = (product or "").strip().lower()
        if key in self._index:
            return self._index[key]
        if key in MOZILLA_PRODUCTS:
            return "mozilla"
        return self.default

    def for_annotations(self, annotations: Any) -> str:
        return self.for_product(product_of(annotations))

    def for_input(self, obj: Any) -> str:
        """The profile for one input of ``crashdesk signature``: siggen-style crash data -> ``mozilla``; a
        stackwalk + annotations or a processed crash -> by its product."""
        if not isinstance(obj, dict) or "crash_data" in obj:
            return CRASH_DATA_PROFILE
        product = ""
        if "stackwalk" in obj:
            product = product_of(obj.get("annotations"))
        elif "json_dump" in obj:
            product = str(obj.get("product") or obj.get("ProductName") or "")
        return self.for_product(product) if product.strip() else CRASH_DATA_PROFILE

    def names(self) -> set[str]:
        return {"mozilla", self.default, *(name for _, name in self.products)}


class ChoosingGenerator:
    """Duck-types :class:`SignatureGenerator` (``generate_from``): picks the profile per input by the rule."""

    def __init__(self, choice: ProfileChoice, resolve, by: str = "input") -> None:
        from crashdesk.engine.signature.generator import SignatureGenerator

        self.choice = choice
        self.by = by
        self._resolve = resolve
        self._gens: dict[str, SignatureGenerator] = {}
        self._cls = SignatureGenerator

    def generator(self, name: str):
        gen = self._gens.get(name)
        if gen is None:
            gen = self._gens[name] = self._cls(self._resolve(name))
        return gen

    def pick(self, obj) -> str:
        """``by="input"``: the ``crashdesk signature`` reading (no product -> mozilla); ``by="crash"``: a stored
        crash's ``{"stackwalk", "annotations"}``, read as processing reads it (no product -> the default)."""
        if self.by == "crash":
            return self.choice.for_annotations(obj.get("annotations") if isinstance(obj, dict) else None)
        return self.choice.for_input(obj)

    def generate_from(self, obj, *, explain: bool = False):
        return self.generator(self.pick(obj)).generate_from(obj, explain=explain)


@dataclass(frozen=True)
class ChoiceSpec:
    """Picklable recipe for a :class:`ChoosingGenerator` (the rule + where user profiles live), so batch
    workers can each build their own."""

    choice: ProfileChoice
    profiles_dir: str | None = None
    #: "input" (``crashdesk signature``) or "crash" (stored crashes: as processing chose)
    by: str = "input"

    def build(self) -> ChoosingGenerator:
        from crashdesk.engine.signature.profiles import resolve_profile

        return ChoosingGenerator(self.choice, lambda name: resolve_profile(name, self.profiles_dir), self.by)

    def resolve_all(self) -> None:
        """Resolve every profile the rule can pick (a bad table entry fails here, before any work)."""
        from crashdesk.engine.signature.profiles import resolve_profile

        for name in sorted(self.choice.names()):
            resolve_profile(name, self.profiles_dir)

    @property
    def name(self) -> str:
        return "auto"

    @property
    def follows(self) -> str:
        return "chosen per crash by product"
