import pytest

from generator.datasets import shapes, tiny_imagenet
from generator.names import CLASS_NAMES_ZH, zh_label


def test_known_class_gets_its_chinese_name_and_keeps_the_english_word():
    assert zh_label("circle") == "圆形（circle）"
    assert zh_label("school bus") == "校车（school bus）"


def test_unknown_class_is_left_alone(monkeypatch: pytest.MonkeyPatch):
    assert zh_label("my-cat") == "my-cat"
    assert zh_label("") == ""
    monkeypatch.setitem(CLASS_NAMES_ZH, "koala-2", "koala-2")  # a "translation" equal to the name: no repeat
    assert zh_label("koala-2") == "koala-2"


def test_exactly_the_built_in_classes_have_distinct_chinese_labels():
    """Both built-in datasets' classes, and nothing else, have a Chinese name; no two share one, so a
    Chinese caption never names two classes alike."""
    known = set(shapes.CLASSES) | set(tiny_imagenet.CLASSES)
    assert len(known) == 20
    assert set(CLASS_NAMES_ZH) == known
    assert len(set(CLASS_NAMES_ZH.values())) == 20
    for name in known:
        zh = CLASS_NAMES_ZH[name]
        assert not zh.isascii(), name
        assert zh_label(name) == f"{zh}（{name}）"
