"""Input reading without a model: malformed CSV quoting, wide encodings, line endings."""

import csv
import gzip
import io
import json

import pandas as pd
import pytest

from model.ray_engine import input_files
from model.readers import INPUT_BREAKS_OFF, InputError, count_rows, input_notes, read_records
from model.text import split_paragraphs


def read(path):
    return [(r.id, r.text, r.error, r.ends_input, r.fields) for r in read_records(str(path))]


def write(tmp_path, name, content: str):
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8"))
    return path


def test_a_quote_closed_by_a_later_row_costs_one_row_not_the_rows_it_swallowed(tmp_path):
    # row 2's quote is never closed; csv alone would merge rows 2-4 into one row ended by row 4's quote
    path = write(tmp_path, "a.csv", 'id,text,outlet\n1,"fine",A\n2,"never closed,B\n3,third,C\n4,"fourth, quoted",D\n'
                                    '5,"fifth",E\n')
    rows = read(path)
    assert [r[0] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[1][1] is None and "record 2 (line 3) opens a quote that is never closed" in rows[1][2]
    assert [(r[1], r[4]) for r in rows[2:]] == [("third", {"outlet": "C"}), ("fourth, quoted", {"outlet": "D"}),
                                               ("fifth", {"outlet": "E"})]


def test_reading_on_after_an_unclosed_quote_keeps_a_later_multi_line_cell_whole(tmp_path):
    # the quote that ends row 1's swallowed line opens row 2's cell: re-reading must run on past it
    rows = read(write(tmp_path, "a.csv", 'id,text\n1,"unclosed\n2,"legit multi\nline cell"\n3,ok\n'))
    assert [(r[0], r[1]) for r in rows] == [("1", None), ("2", "legit multi\nline cell"), ("3", "ok")]
    # the id is read from the cells before the one the quote opens, not from that cell
    rows = read(write(tmp_path, "b.csv", 'id,text\n"k1,still open\nk2,two\nk3,"three"\n'))
    assert [(r[0], r[1]) for r in rows] == [("row0", None), ("k2", "two"), ("k3", "three")]


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""])
def test_a_file_that_ends_inside_a_quoted_cell_breaks_off_there_naming_the_line(tmp_path, ending):
    # a quote never closed and a file cut inside a long cell look the same at the end of the file
    # (head -n cuts at a line end): neither invents rows from the cell's lines
    for content in ('id,text\n1,"whole"\n2,"never closed\n3,third\n4,fourth',
                    'id,text\n1,"whole"\n2,"a cell of two paragraphs\n\nthe second, cut short',
                    'id,text\n1,"whole"\n2,"first, line\nsecond, line\nthird, line'):
        content = content.replace("\n", ending or "\n") + ending
        rows = read(write(tmp_path, "a.csv", content))
        assert [r[0] for r in rows] == ["1", "2"], content
        assert rows[1][2].startswith(INPUT_BREAKS_OFF) and "record 2, which begins on line 3" in rows[1][2]
        assert rows[1][3]  # a resume drops it and scores on from there
    text_only = read(write(tmp_path, "b.csv", 'text\nfine\n"First paragraph\nsecond line\nthird line\n'))
    assert [(r[1], r[3]) for r in text_only] == [("fine", False), (None, True)]


def test_a_closed_multi_line_cell_with_quotes_inside_its_prose_reads_as_csv_reads_it(tmp_path):
    # a quote inside prose follows a space, not a delimiter or a line start: not an unclosed quote
    for content in ('id,text\n1,"The minister spoke.\nLater, she said "no" to the plan."\n2,Another.\n',
                    'text\n"First paragraph.\n\nShe said "no" to the plan."\nSecond article.\n'):
        expected = [(r["text"], "") for r in csv.DictReader(io.StringIO(content))]
        assert [(r[1], r[2]) for r in read(write(tmp_path, "a.csv", content))] == expected


def test_a_header_a_quote_runs_on_from_is_refused(tmp_path):
    with pytest.raises(InputError, match="header runs on over 3 lines"):
        read(write(tmp_path, "a.csv", 'id,"text\n1,a\n2,b\n'))


def test_well_formed_multi_line_cells_and_stray_quotes_read_as_before(tmp_path):
    content = ('id,text,outlet\r\n1,"one paragraph, with commas,\r\n\r\nand a second, also, with commas",A\r\n\r\n'
               '2,"an ""escaped"" quote",B\r\n3,a plain cell with a "stray quote,C\r\n4,short\r\n')
    rows = read(write(tmp_path, "a.csv", content))
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("1", "one paragraph, with commas,\r\n\r\nand a second, also, with commas", ""),
        ("2", 'an "escaped" quote', ""), ("3", 'a plain cell with a "stray quote', ""), ("4", "short", "")]
    assert rows[3][4] == {"outlet": None}  # a short record's missing cells, as csv.DictReader gives them


def test_a_record_with_more_cells_than_the_header_keeps_its_id(tmp_path):
    rows = read(write(tmp_path, "a.csv", "id,text\nk1,fine\nk2,too,many\n"))
    assert [(r[0], r[2]) for r in rows] == [("k1", ""), ("k2", "record 2 has more cells than the header")]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_inputs_are_read(tmp_path, encoding):
    rows = [{"id": "a", "text": "Zürich “quoted”\r kept"}, {"id": "b", "text": "second 😀"}]
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    data = body.encode(encoding)
    if encoding == "utf-16-be":  # the -be codec writes no byte-order mark; a file that has one
        data = b"\xfe\xff" + data
    (tmp_path / "a.jsonl").write_bytes(data)
    assert [(r[0], r[1], r[2]) for r in read(tmp_path / "a.jsonl")] == [(r["id"], r["text"], "") for r in rows]
    with gzip.open(tmp_path / "b.csv.gz", "wb") as f:
        f.write('id,text\r\n1,"héllo, there"\r\n'.encode(encoding) if encoding != "utf-16-be" else
                b"\xfe\xff" + 'id,text\n1,"héllo, there"\n'.encode(encoding))
    assert [(r[0], r[1]) for r in read(tmp_path / "b.csv.gz")] == [("1", "héllo, there")]
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "f.txt").write_bytes("Texte français".encode("utf-16"))
    (tmp_path / "t" / "g.txt").write_bytes("\ufeffUTF-8 with a mark".encode("utf-8"))
    assert [(r[0], r[1]) for r in read(tmp_path / "t")] == [("f", "Texte français"), ("g", "UTF-8 with a mark")]


def test_encoding_reads_a_legacy_windows_file_and_is_refused_where_it_cannot_apply(tmp_path):
    text = "Café “quoted” – dash"
    (tmp_path / "a.csv").write_bytes(f'id,text\r\n1,"{text}"\r\n'.encode("cp1252"))
    (tmp_path / "a.jsonl").write_bytes((json.dumps({"id": "1", "text": text}, ensure_ascii=False) + "\n").encode("cp1252"))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "1.txt").write_bytes(text.encode("cp1252"))
    for path in ("a.csv", "a.jsonl", "t"):
        unasked = list(read_records(str(tmp_path / path)))[0]
        assert "\ufffd" in unasked.text and "--encoding" in unasked.warnings[0]  # the warning names the option
        asked = list(read_records(str(tmp_path / path), encoding="cp1252"))[0]
        assert (asked.id, asked.text, asked.warnings) == ("1", text, [])
    assert list(read_records(str(tmp_path / "a.jsonl"), encoding="UTF8"))[0].text == unasked.text  # UTF-8 as ever
    with pytest.raises(InputError, match="not a text encoding"):
        read_records(str(tmp_path / "a.csv"), encoding="klingon")
    with pytest.raises(InputError, match="not a text encoding"):
        read_records(str(tmp_path / "a.csv"), encoding="rot13")
    pd.DataFrame({"id": ["1"], "text": [text]}).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(InputError, match="Parquet text columns are UTF-8"):
        read_records(str(tmp_path / "a.parquet"), encoding="cp1252")


def test_broken_utf16_is_replaced_with_a_warning_and_utf16_stdin_is_read(tmp_path, monkeypatch):
    broken = "id,text\n1,ok\n2,half \ud83d of an emoji\n".encode("utf-16", "surrogatepass")
    (tmp_path / "a.csv").write_bytes(broken)
    rows = list(read_records(str(tmp_path / "a.csv")))
    assert [(r.text, bool(r.warnings)) for r in rows] == [("ok", False), ("half \ufffd of an emoji", True)]
    data = "".join(json.dumps({"id": k, "text": "上海 text"}, ensure_ascii=False) + "\n" for k in "ab").encode("utf-16")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    assert [(r.id, r.text, r.error) for r in read_records("-")] == [("a", "上海 text", ""), ("b", "上海 text", "")]


def test_stdin_without_peek_an_explicit_utf16_le_csv_and_row_counts_of_utf16(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", type("Stdin", (), {"buffer": io.BytesIO(b'{"id": "a", "text": "x"}\n')})())
    assert [(r.id, r.text) for r in read_records("-")] == [("a", "x")]  # a BytesIO cannot be peeked at
    (tmp_path / "a.csv").write_bytes("id,text\n1,上海\n2,Ċ\n".encode("utf-16"))  # 上 and Ċ hold a 0x0a byte
    assert [(r.id, r.text) for r in read_records(str(tmp_path / "a.csv"), encoding="utf-16-le")] == \
        [("1", "上海"), ("2", "Ċ")]  # the mark the -le codec keeps is not part of the first column's name
    assert count_rows(str(tmp_path / "a.csv")) == 2
    (tmp_path / "b.csv").write_bytes("id,text\n1,上海\n2,Ċ\n".encode("utf-16-le"))  # no mark: --encoding says it
    assert (count_rows(str(tmp_path / "b.csv")), count_rows(str(tmp_path / "b.csv"), "utf-16-le")) == (4, 2)
    from model.pipeline import _progress

    bar = _progress(True, str(tmp_path / "b.csv"), None, "utf-16-le")  # the bar's total: the scoring run's count
    assert bar.total == 2
    bar.close()


def test_the_ray_engine_refuses_utf16_json_lines(tmp_path):
    (tmp_path / "a.jsonl").write_bytes('{"id": "a", "text": "x"}\n'.encode("utf-16"))
    with pytest.raises(ValueError, match="is utf-16; convert it"):
        input_files(str(tmp_path / "a.jsonl"))


def test_delimiter_reads_other_separators_and_is_refused_where_it_means_nothing(tmp_path):
    path = write(tmp_path, "a.csv", 'id|text\n1|"a | inside"\n2|"never closed\n3|third\n4|"four"\n')
    assert [(r[0], r[1]) for r in read_records_with(path, "|")] == [("1", "a | inside"), ("2", None), ("3", "third"),
                                                                    ("4", "four")]
    tsv = write(tmp_path, "a.txt.csv", "id\ttext\n1\tfine\n")
    assert [(r[0], r[1]) for r in read_records_with(tsv, "\\t")] == [("1", "fine")]  # '\\t' as typed in a shell
    with pytest.raises(InputError, match="--delimiter is for .csv or .tsv input; .* is read as jsonl"):
        read_records_with(write(tmp_path, "a.jsonl", '{"text": "x"}\n'), ";")
    for delimiter in ('"', ";;"):
        with pytest.raises(InputError, match="give one character other than a quote"):
            read_records_with(path, delimiter)


def test_a_header_read_as_one_field_names_the_delimiter_even_when_every_row_has_more_cells(tmp_path):
    path = write(tmp_path, "a.csv", "id;text\n1;hello, world\n2;foo, bar\n")
    with pytest.raises(InputError, match="header reads as one field, 'id;text'.*give --delimiter ';'"):
        read(path)
    assert [(r[0], r[1]) for r in read_records_with(path, ";")] == [("1", "hello, world"), ("2", "foo, bar")]


def read_records_with(path, delimiter):
    return [(r.id, r.text) for r in read_records(str(path), delimiter=delimiter)]


def test_a_folder_says_which_of_its_files_it_does_not_read(tmp_path):
    (tmp_path / "a.txt").write_text("An article.")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    assert input_notes(str(tmp_path)) == []
    (tmp_path / "notes.md").write_text("#")
    (tmp_path / "more.jsonl").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    (note,) = input_notes(str(tmp_path))
    assert "3 entries that are not .txt files are not read (.jsonl, .md, folders)" in note and "cat DIR/*.jsonl" in note
    (tmp_path / "a.txt").unlink()
    with pytest.raises(InputError, match="has none .*--engine ray"):
        read_records(str(tmp_path))
    assert input_notes(str(tmp_path / "more.jsonl")) == []


def test_paragraphs_split_at_any_line_ending():
    assert split_paragraphs("one\r\rtwo\r\n\r\nthree\n \nfour") == ["one", "two", "three", "four"]
    assert split_paragraphs("one\rline\r\nand\nmore") == ["one\rline\r\nand\nmore"]  # single line ends join
