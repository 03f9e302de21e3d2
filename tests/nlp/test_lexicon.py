from pathlib import Path

import pytest

from domain.specialties import catalogue
from nlp.resources import LexiconError, data_dir, load_data, load_lexicon


def test_every_shipped_data_file_loads_and_validates():
    data = load_data()
    assert len(data.lexicon) > 2000
    assert data.redflags and data.combos and data.cues and data.child_codes


def test_every_lexicon_term_maps_to_a_known_code():
    codes = {e.code for e in load_data().lexicon}
    assert codes <= {s.code for s in catalogue()}


def test_lexicon_covers_every_care_direction_a_circuit_brings():
    codes = {e.code for e in load_data().lexicon}
    for needed in ("03.01", "03.02", "03.03", "03.04", "03.07", "04.01", "04.03", "04.04", "05.01", "05.02",
                   "07", "10", "11.01", "11.02", "11.03", "12", "13", "15", "19", "50"):
        assert needed in codes, needed


def test_no_lexicon_file_has_duplicates_or_cross_file_conflicts():
    seen: dict[str, str] = {}
    pairs: set[tuple[str, str]] = set()
    for e in load_data().lexicon:
        assert (e.term, e.code) not in pairs
        pairs.add((e.term, e.code))
        assert seen.setdefault(e.term, e.source) == e.source


def test_colloquial_forms_are_in_the_lexicon():
    terms = {e.term for e in load_data().lexicon}
    for word in ("心口疼", "拉肚子", "腰杆", "眼睛花", "耳朵嗡嗡响", "老寒腿", "起疙瘩", "尿不尽", "身上没劲"):
        assert word in terms, word


def _copy_data(tmp_path: Path) -> Path:
    for f in data_dir().iterdir():
        if f.is_file():
            (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_loader_rejects_an_unknown_code(tmp_path):
    d = _copy_data(tmp_path)
    (d / "lex_zz.tsv").write_text("怪病\t99.99\t3\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="未知的科目代码"):
        load_lexicon(d)


def test_loader_rejects_a_duplicate_line(tmp_path):
    d = _copy_data(tmp_path)
    (d / "lex_zz.tsv").write_text("怪病\t02\t3\n怪病\t02\t3\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="重复"):
        load_lexicon(d)


def test_loader_rejects_a_term_defined_in_two_files(tmp_path):
    d = _copy_data(tmp_path)
    (d / "lex_zz.tsv").write_text("拉肚子\t02\t1\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="冲突"):
        load_lexicon(d)


def test_loader_rejects_a_bad_weight_and_names_the_line(tmp_path):
    d = _copy_data(tmp_path)
    (d / "lex_zz.tsv").write_text("# 注释\n怪病\t02\t很重\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lex_zz.tsv:2"):
        load_lexicon(d)


def test_loader_rejects_an_unknown_cue_kind(tmp_path):
    d = _copy_data(tmp_path)
    with (d / "cues.tsv").open("a", encoding="utf-8") as fh:
        fh.write("maybe\t也许\n")
    with pytest.raises(LexiconError, match="未知类别"):
        load_data(d)
