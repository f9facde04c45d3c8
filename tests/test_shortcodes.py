"""Markdown shortcodes: expansion, code spans and fenced blocks left alone, every error collected with
its line number, and argument parsing (quoting, repeated or stray words)."""

from __future__ import annotations

import random
import shlex

import pytest

from generator.errors import ShortcodeError
from generator.shortcodes import QUOTING, Shortcode, ShortcodeErrors, expand, parse_args


def render(code: Shortcode) -> str:
    """A handler that shows what it received; 'bad' arguments fail like an unknown figure would."""
    if code.arg.startswith("bad"):
        raise ShortcodeError(f"unknown thing {code.arg!r}")
    params = ",".join(f"{k}={v}" for k, v in sorted(code.params.items()))
    return f"<{code.name}:{code.arg}:{params}>"


def test_expands_every_kind_of_shortcode() -> None:
    md = (
        "# Title\n"
        "Accuracy {{ value test-accuracy }} after {{value epochs}} epochs.\n"
        "{{ figure conv-overview layer=conv_1_1 neuron=0 }}\n"
        "{{ table network }}\n"
    )
    assert expand(md, render) == (
        "# Title\n"
        "Accuracy <value:test-accuracy:> after <value:epochs:> epochs.\n"
        "<figure:conv-overview:layer=conv_1_1,neuron=0>\n"
        "<table:network:>\n"
    )


def test_handler_sees_name_arg_params_and_line() -> None:
    seen: list[Shortcode] = []

    def record(code: Shortcode) -> str:
        seen.append(code)
        return "x"

    expand("a\n\nb {{ figure hyperparameter hyper=stride }} c {{ value bias layer=output neuron=3 }}\n", record)
    assert seen == [
        Shortcode("figure", "hyperparameter", {"hyper": "stride"}, 3),
        Shortcode("value", "bias", {"layer": "output", "neuron": "3"}, 3),
    ]


def test_text_without_shortcodes_is_unchanged() -> None:
    md = "plain {{ text\n{ {x} }\n}} braces {{ page.title }} {{ Upper }}\n\n\ttabs  \n"
    assert expand(md, render) == md
    assert expand("", render) == ""


def test_code_spans_are_left_alone() -> None:
    md = "Write `{{ figure softmax }}` to get {{ figure softmax }}; also ``{{ value epochs }}``."
    assert expand(md, render) == "Write `{{ figure softmax }}` to get <figure:softmax:>; also ``{{ value epochs }}``."
    # An error inside a code span is no error.
    assert expand("`{{ value bad }}`", render) == "`{{ value bad }}`"
    # A lone backtick does not hide what follows it.
    assert expand("it`s {{ value epochs }}", render) == "it`s <value:epochs:>"


def test_fenced_blocks_are_left_alone() -> None:
    md = (
        "before {{ value epochs }}\n"
        "```markdown\n"
        "{{ figure conv-overview layer=conv_1_1 }}\n"
        "{{ value bad }}\n"
        "```\n"
        "between {{ value epochs }}\n"
        "~~~~\n"
        "```\n"
        "{{ value bad }}\n"
        "~~~~\n"
        "    ````text\n"
        "    {{ value bad }}\n"
        "    ```\n"
        "    still code {{ value bad }}\n"
        "    ````\n"
        "after {{ value epochs }}"
    )
    out = expand(md, render).split("\n")
    src = md.split("\n")
    assert out[0] == "before <value:epochs:>"
    assert out[1:5] == src[1:5]
    assert out[5] == "between <value:epochs:>"
    assert out[6:15] == src[6:15]  # '```' does not close a '~~~~' fence; '```' does not close '````'
    assert out[15] == "after <value:epochs:>"


def test_fence_with_info_string_does_not_close_a_block() -> None:
    md = "```\n```python\n{{ value bad }}\n```\n{{ value epochs }}"
    assert expand(md, render) == "```\n```python\n{{ value bad }}\n```\n<value:epochs:>"


def test_inline_triple_backticks_are_no_fence() -> None:
    md = "```{{ value bad }}``` is inline code\n{{ value epochs }}"
    assert expand(md, render) == "```{{ value bad }}``` is inline code\n<value:epochs:>"


def test_unclosed_fence_protects_the_rest() -> None:
    md = "{{ value epochs }}\n```\n{{ value bad }}\n{{ value epochs }}"
    assert expand(md, render) == "<value:epochs:>\n```\n{{ value bad }}\n{{ value epochs }}"


def test_all_errors_are_collected_with_line_numbers() -> None:
    md = (
        "line one\n"
        "{{ value bad-one }}\n"
        "fine {{ value epochs }}\n"
        "```\n{{ value bad-in-code }}\n```\n"
        "{{ figure bad-two }} and {{ value bad-three }}\n"
        "\n"
        "{{ value epochs epochs }}\n"
    )
    with pytest.raises(ShortcodeErrors) as info:
        expand(md, render)
    errors = info.value.errors
    assert [line for line, _ in errors] == [2, 7, 7, 9]
    assert "{{ value bad-one }}" in errors[0][1] and "'bad-one'" in errors[0][1]
    assert "'bad-two'" in errors[1][1] and "'bad-three'" in errors[2][1]
    assert "unexpected word 'epochs'" in errors[3][1]
    message = str(info.value)
    assert message.startswith("line 2: {{ value bad-one }}")
    assert "line 7:" in message and "line 9:" in message
    assert "bad-in-code" not in message
    assert isinstance(info.value, ShortcodeError)  # callers may catch the base type


def test_crlf_line_endings() -> None:
    md = "a {{ value epochs }}\r\n```\r\n{{ value bad }}\r\n```\r\n"
    assert expand(md, render) == "a <value:epochs:>\r\n```\r\n{{ value bad }}\r\n```\r\n"


def test_other_exceptions_propagate() -> None:
    def broken(code: Shortcode) -> str:
        raise KeyError("facts.json lacks metrics")

    with pytest.raises(KeyError):
        expand("{{ value epochs }}", broken)


# -- parse_args ------------------------------------------------------------------------------------


def test_parse_args_plain() -> None:
    assert parse_args(" conv-overview layer=conv_1_1 neuron=0") == (
        "conv-overview",
        {"layer": "conv_1_1", "neuron": "0"},
    )
    assert parse_args("") == ("", {})
    assert parse_args("epochs") == ("epochs", {})
    assert parse_args("layer=conv_1_1") == ("", {"layer": "conv_1_1"})  # handlers reject a missing word
    assert parse_args("probability image=cat class=") == ("probability", {"image": "cat", "class": ""})
    assert parse_args("x a=b=c") == ("x", {"a": "b=c"})


def test_parse_args_quoting() -> None:
    assert parse_args('probability class="red panda" image=featured') == (
        "probability",
        {"class": "red panda", "image": "featured"},
    )
    assert parse_args("logit class='sports car'") == ("logit", {"class": "sports car"})
    assert parse_args('"value name"') == ("value name", {})


def test_the_fast_split_agrees_with_shlex() -> None:
    """parse_args splits arguments without quoting on white space; wherever it does, shlex agrees."""
    alphabet = ["a", "=", "-", "#", "中", " ", "\t", "\n", "\r", "'", '"', "\\"]
    alphabet += ["\x0b", "\x0c", "\x1c", "\xa0", "\u3000"]  # white space to str.split(), not to shlex
    rng = random.Random(7)
    fast = 0
    for _ in range(20_000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        if QUOTING.search(raw):
            continue
        fast += 1
        assert raw.split() == shlex.split(raw), repr(raw)
    assert fast > 1_000  # the fast path was exercised
    assert QUOTING.search("a\xa0b") and QUOTING.search("class='x'") and not QUOTING.search(" a=b\tc \n")


def test_quoted_parameter_inside_a_page() -> None:
    out = expand('P = {{ value probability class="bell pepper" }}.', render)
    assert out == "P = <value:probability:class=bell pepper>."


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ('probability class="red panda', "cannot parse shortcode arguments"),
        ("activation layer=a layer=b", "bad or repeated parameter 'layer=b'"),
        ("softmax =x", "bad or repeated parameter '=x'"),
        ("softmax extra", "unexpected word 'extra'"),
    ],
)
def test_parse_args_errors(raw: str, needle: str) -> None:
    with pytest.raises(ShortcodeError) as info:
        parse_args(raw)
    assert needle in str(info.value)


def test_parse_error_in_page_names_the_line() -> None:
    with pytest.raises(ShortcodeErrors) as info:
        expand("ok\n{{ value probability class='red }}", render)
    assert info.value.errors[0][0] == 2
    assert "cannot parse shortcode arguments" in info.value.errors[0][1]


# -- hostile and mistaken input ----------------------------------------------------------------------

KNOWN = frozenset({"figure", "value", "table", "samples"})


def test_parsing_is_linear_in_the_line_length() -> None:
    """One line of '{{ figure' and 100,000 spaces (cubic with the old regex: 4,000 took 40 s)."""
    import signal

    def too_slow(*_: object) -> None:
        raise TimeoutError("shortcode parsing is not linear")

    old = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(10)  # linear parsing takes milliseconds; cubic parsing would not end this decade
    try:
        for line in (
            "{{ figure" + " " * 100_000,
            "{{" * 50_000,
            "{{ value" + " " * 100_000 + "}",
            "`" * 30_000 + "{{ value epochs }}",
            "` x" * 30_000,
            "{{ a" * 30_000,
        ):
            assert expand(line, render) == line or "<value:epochs:>" in expand(line, render)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_known_shortcode_with_wrong_case_is_an_error() -> None:
    with pytest.raises(ShortcodeErrors) as info:
        expand("text\n{{ Figure input }}", render, known=KNOWN)
    assert info.value.errors[0][0] == 2
    assert "lower case" in info.value.errors[0][1] and "{{ figure ... }}" in info.value.errors[0][1]
    # Without `known`, or for names that are not ours, such text stays text (another plugin's syntax).
    assert expand("{{ Figure input }} {{ Upper }}", render) == "{{ Figure input }} {{ Upper }}"
    assert expand("{{ Upper }} {{ page.title }}", render, known=KNOWN) == "{{ Upper }} {{ page.title }}"


def test_unclosed_known_shortcode_is_an_error() -> None:
    with pytest.raises(ShortcodeErrors) as info:
        expand("a\nb\n{{ figure input", render, known=KNOWN)
    assert info.value.errors == [(3, "{{ figure: the shortcode is not closed; end it with }} on the same line")]
    assert expand("{{ text without end", render, known=KNOWN) == "{{ text without end"
    # Inside code it is documentation, not a mistake.
    assert expand("`{{ figure input`", render, known=KNOWN) == "`{{ figure input`"


def test_code_spans_linear_scanner() -> None:
    from generator.shortcodes import code_spans

    assert code_spans("a `b` c ``d ` e`` f") == [(2, 5), (8, 17)]
    assert code_spans("x ` y") == []
    assert code_spans("``a` `b``") == [(0, 9)]
