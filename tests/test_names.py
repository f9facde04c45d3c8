from generator.datasets import CLASS_NAMES_ZH as REEXPORTED
from generator.names import CLASS_NAMES_ZH, zh_label


def test_known_class_gets_its_chinese_name_and_keeps_the_english_word():
    assert zh_label("circle") == "圆形（circle）"
    assert zh_label("school bus") == "校车（school bus）"


def test_unknown_class_is_left_alone():
    assert zh_label("my-cat") == "my-cat"
    assert zh_label("") == ""


def test_every_name_is_distinct_and_reexported():
    assert len(set(CLASS_NAMES_ZH.values())) == len(CLASS_NAMES_ZH) == 20
    assert REEXPORTED is CLASS_NAMES_ZH
