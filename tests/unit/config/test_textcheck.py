"""`config.textcheck`: keyboard and editor slips found at their own line and column
(1-based: the column of the slip itself), with the key path and what to type
instead; text in values may hold anything."""

from __future__ import annotations

from pathlib import Path

from floodwatch.config.errors import ConfigIssue
from floodwatch.config.textcheck import decode, slips

FILE = Path("stations.yaml")


def found(text: str) -> list[tuple[int | None, int | None, tuple[str | int, ...], str]]:
    return [(i.line, i.column, i.loc, i.message) for i in slips(FILE, text)]


def test_a_full_width_colon_after_a_key_is_reported_at_the_colon_with_its_path() -> None:
    text = "stations:\n  - id: p1\n    name：山塘\n"
    assert found(text) == [
        (
            3,
            9,
            ("stations", 0, "name"),
            "full-width colon '：' after 'name': type an ASCII colon and a space ('name: ')",
        )
    ]


def test_a_tab_in_the_indentation_is_reported_at_the_tab() -> None:
    ((line, column, _, message),) = found("stations:\n \tid: p1\n")
    assert (line, column) == (2, 2)
    assert message.startswith("a tab in the indentation")


def test_a_full_width_space_in_the_indentation() -> None:
    ((line, column, _, message),) = found("a:\n\u3000b: 1\n")
    assert (line, column) == (2, 1)
    assert "full-width space '　' in the indentation" in message


def test_a_tab_after_the_colon() -> None:
    ((line, column, loc, message),) = found("a:\n  b:\t1\n")
    assert (line, column, loc) == (2, 5, ("a", "b"))
    assert message == "a tab after ':': type an ASCII space"


def test_full_width_marks_in_a_flow_collection_after_ascii_are_slips() -> None:
    issues = found("kinds: [level，rain]\nwithin: {1h：30}\n")
    assert [(line, column, message.split(":")[0]) for line, column, _, message in issues] == [
        (1, 14, "full-width comma '，' in a list or mapping"),
        (2, 12, "full-width colon '：' in a list or mapping"),
    ]


def test_a_full_width_bracket_opening_a_list() -> None:
    ((_, column, loc, message),) = found("kinds: ［level, rain］\n")
    assert (column, loc) == (8, ("kinds",))
    assert message.startswith("full-width bracket '［' starts a list or mapping: type '['")


def test_chinese_punctuation_in_values_quotes_comments_and_block_scalars_is_text() -> None:
    text = (
        "name: 毛坑山塘（上游）\n"
        "advice: {zh: 毛坑山塘，上游}\n"
        "quoted: '[a，b]'\n"
        "kinds: [level, rain]  # see，below\n"
        "# 注释：随便写，\n"
        "note: |\n"
        "  第一行：\n"
        "  \t第二行\n"
        "after: 1\n"
    )
    assert found(text) == []


def test_a_block_scalar_ends_where_the_indentation_does() -> None:
    assert [line for line, *_ in found("note: >\n  文字：\nnext：1\n")] == [3]


def test_a_byte_order_mark_inside_the_file() -> None:
    ((line, column, _, message),) = found("a: 1\nb: \ufeff2\n")
    assert (line, column) == (2, 4)
    assert "byte-order mark (U+FEFF) inside the file" in message


def test_decode_reads_utf8_and_notes_a_leading_bom() -> None:
    plain = decode(FILE, "name: 山塘\n".encode())
    assert (plain.text, plain.issues, plain.notes) == ("name: 山塘\n", [], [])
    bom = decode(FILE, b"\xef\xbb\xbfa: 1\n")
    assert bom.issues == [] and len(bom.notes) == 1
    assert "byte-order mark (BOM)" in bom.notes[0].message


def test_decode_refuses_utf16() -> None:
    out = decode(FILE, "a: 1\n".encode("utf-16"))
    assert out.text is None
    assert out.issues == [ConfigIssue(FILE, 1, 1, (), "saved as UTF-16; save the file as UTF-8")]


def test_decode_names_a_gbk_file_and_a_gbk_line_in_a_utf8_file() -> None:
    gbk = decode(FILE, "a: 1\nname: 山塘\n".encode("gb18030"))
    assert gbk.text is None
    ((issue,),) = [gbk.issues]
    assert (issue.line, issue.column) == (2, 7)
    assert issue.message.startswith("the file is GBK (this line reads as 'name: 山塘')")
    mixed = decode(FILE, "zh: 山塘\n".encode() + "name: 涵管\n".encode("gb18030"))
    ((issue,),) = [mixed.issues]
    assert issue.line == 2
    assert "in a UTF-8 file (mixed encodings)" in issue.message


def test_decode_reports_at_most_ten_lines_and_counts_the_rest() -> None:
    raw = "\n".join(f"k{i}: 山塘" for i in range(13)).encode("gb18030")
    issues = decode(FILE, raw).issues
    assert [i.line for i in issues] == [*range(1, 11), 13]
    assert issues[-1].message == "… and 3 more lines not in UTF-8"
