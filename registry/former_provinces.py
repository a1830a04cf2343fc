"""Which former (pre-July-2025) provinces each 2025 ward was formed from.

A plan written before the 2025 reorganisation is scored on the area it was written for:
the wards of today's province that made up the former province (seed 004: former Bà Rịa -
Vũng Tàu, now 30 of Hồ Chí Minh City's 168 wards). The legacy -> 2025 conversion is the
one ``vietnamadminunits`` (MIT) ships as data (``data/converter_2025.json`` and
``data/dataset.db``); it is read from those files at first use rather than copied into a
file here, so the mapping cannot drift from the library version installed, and the
library's modules (which pull geometry packages) are never imported.

Rule for a ward formed from parts of wards of two former provinces (23 of 3,321, none in
Hồ Chí Minh City or Đồng Nai): it counts in every former province that contributed a
part, so it is in both areas; a split legacy ward contributes to each 2025 ward it went
into.

Ward codes: the registry's are ``vietnam-provinces`` codes. ``vietnamadminunits``'
``wardCode`` differs for 114 wards (and names a few with another tone placement, "Hóa" /
"Hoá", an en dash for a hyphen, a typographic apostrophe), so wards are matched by
province and name, tone placement, dashes and apostrophes normalised; a ward that matches
nothing is an error at load, not a silent gap.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from iotgw.registry.errors import RegistryError
from vietnam_provinces import Ward as VnWard

_PUNCTUATION = str.maketrans({"\u2013": "-", "\u2019": "'"})  # en dash, right quote
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # grave, acute, tilde, hook, dot below


def _name_key(name: str) -> tuple[tuple[str, str], ...]:
    """Per word: its letters without the tone mark, and the tone; so "Hóa" == "Hoá" while
    "Văn Lang" != "Văn Lăng" and "Cẩm Giang" != "Cẩm Giàng"."""
    words = []
    for word in unicodedata.normalize("NFD", name.lower().translate(_PUNCTUATION)).split():
        tones = "".join(sorted(ch for ch in word if ch in _TONES))
        words.append(("".join(ch for ch in word if ch not in _TONES), tones))
    return tuple(words)


def library_data() -> Path:
    """The folder of ``vietnamadminunits``' data files (read as files, never imported)."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RegistryError("package vietnamadminunits is not installed: it provides the"
                            " legacy -> 2025 ward conversion")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@lru_cache(maxsize=1)
def _registry_wards() -> dict[tuple[int, tuple[tuple[str, str], ...]], int]:
    return {(w.province_code.value, _name_key(w.name)): w.code.value for w in VnWard.iter_all()}


def registry_ward(province: int, name: str) -> int:
    """The registry's code of a ``vietnamadminunits`` ward, matched by province and name.

    Raises:
        RegistryError: no ``vietnam-provinces`` ward of that province has that name.
    """
    code = _registry_wards().get((province, _name_key(name)))
    if code is None:
        raise RegistryError(f"vietnamadminunits ward {name!r} of province {province}"
                            " matches no vietnam-provinces ward")
    return code


@dataclass(frozen=True, slots=True)
class FormerProvinces:
    """ward (registry code) -> former province codes; former code -> its name."""

    of_ward: dict[int, frozenset[int]]
    names: dict[int, str]


@lru_cache(maxsize=1)
def former_provinces() -> FormerProvinces:
    """Built once per process from the library's data (about 0.2 s)."""
    data = library_data()
    conversion = json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))
    with sqlite3.connect(f"file:{data / 'dataset.db'}?mode=ro", uri=True) as db:
        new_wards = db.execute("SELECT provinceKey, wardKey, provinceCode, ward FROM admin_units").fetchall()
        legacy = db.execute("SELECT DISTINCT provinceKey, provinceCode, province"
                            " FROM admin_units_legacy").fetchall()
    registry_code = {(province_key, ward_key): registry_ward(int(province_code), name)
                     for province_key, ward_key, province_code, name in new_wards}
    legacy_code = {key: int(code) for key, code, _ in legacy}
    of_ward: dict[int, set[int]] = defaultdict(set)
    for province_key, wards in conversion["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward_key, parts in wards.items():
            of_ward[registry_code[province_key, ward_key]].update(
                legacy_code[p.split("_")[0]] for p in parts)
    for province_key, parts in conversion["DICT_PROVINCE_WARD_DIVIDED"].items():
        for part, successors in parts.items():
            for successor in successors:
                of_ward[registry_code[province_key, successor["newWardKey"]]].add(
                    legacy_code[part.split("_")[0]])
    return FormerProvinces({w: frozenset(p) for w, p in of_ward.items()},
                           {int(code): name for _, code, name in legacy})


@lru_cache(maxsize=128)
def wards_of_former_province(former: int, *, province: int | None = None) -> frozenset[int]:
    """The 2025 wards (registry codes) formed wholly or partly from the former province,
    those of today's ``province`` only when given."""
    mapping = former_provinces()
    current = {w.code.value: w.province_code.value for w in VnWard.iter_all()}
    return frozenset(w for w, formers in mapping.of_ward.items()
                     if former in formers and (province is None or current.get(w) == province))


def former_province_name(former: int) -> str:
    try:
        return former_provinces().names[former]
    except KeyError:
        raise RegistryError(f"no former province {former}") from None
