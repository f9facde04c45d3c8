"""Chinese names of the known classes, for text in the zh language (captions, alt text, values, and the
words drawn in the zh figures). A Chinese caption names a class as "圆形（circle）", so that the English
word stays findable too.
"""

from __future__ import annotations

CLASS_NAMES_ZH: dict[str, str] = {
    # The embedded shapes dataset.
    "circle": "圆形",
    "square": "正方形",
    "triangle": "三角形",
    "star": "五角星",
    "cross": "十字",
    "ring": "圆环",
    "crescent": "月牙",
    "stripes": "条纹",
    "checkerboard": "棋盘格",
    "dots": "圆点",
    # CNN Explainer's ten Tiny ImageNet classes.
    "lifeboat": "救生艇",
    "ladybug": "瓢虫",
    "pizza": "披萨",
    "bell pepper": "甜椒",
    "school bus": "校车",
    "koala": "考拉",
    "espresso": "意式浓缩咖啡",
    "red panda": "小熊猫",
    "orange": "橙子",
    "sport car": "跑车",
}


def zh_label(name: str) -> str:
    """'circle' -> '圆形（circle）'; a class without a Chinese name (your own folders) stays as it is."""
    zh = CLASS_NAMES_ZH.get(name)
    return f"{zh}（{name}）" if zh and zh != name else name
