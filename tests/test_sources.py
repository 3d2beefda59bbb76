"""Reading channel files: encodings, broken rows and formats, each with a clear outcome."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from flows.ingest import check_columns, map_table, split_rejects
from mdm.channels.config import ChannelConfig
from mdm.channels.readers import READ_PROBLEM, read_source
from mdm.errors import SourceError


def channel(**overrides: object) -> ChannelConfig:
    settings: dict[str, object] = {
        "name": "branch",
        "path": "*.csv",
        "record_id": "客户号",
        "columns": {"full_name": "姓名", "mobile": "手机"},
        **overrides,
    }
    return ChannelConfig(**settings)  # type: ignore[arg-type]


def test_gb18030_file_read_as_declared(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes("客户号,姓名,手机\n1,陈丽,13812345678\n".encode("gb18030"))
    table = read_source(channel(encoding="gb18030"), path)
    assert table.frame.loc[0, "姓名"] == "陈丽"
    assert table.frame.loc[0, "_source_row"] == 2


def test_wrong_encoding_names_file_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes("客户号,姓名,手机\n1,张伟,1\n2,陈丽,2\n".encode("gb18030"))
    with pytest.raises(SourceError, match=r"b\.csv: line 1: byte 0x\w\w is not valid utf-8"):
        read_source(channel(encoding="utf-8"), path)


def test_auto_encoding_detects_bom_and_gb18030(tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("客户号,姓名,手机\n1,陳麗,2\n".encode("utf-8-sig"))
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("客户号,姓名,手机\n1,陈丽,2\n".encode("gb18030"))
    assert read_source(channel(encoding="auto"), bom).frame.loc[0, "姓名"] == "陳麗"
    assert read_source(channel(encoding="auto"), gbk).frame.loc[0, "姓名"] == "陈丽"
    assert read_source(channel(encoding="auto"), bom).columns[0] == "客户号"


def test_empty_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(SourceError, match=r"empty\.csv: file is empty"):
        read_source(channel(), path)


def test_rows_with_wrong_field_count_are_kept_with_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("客户号,姓名,手机\n1,张伟,138\n2,陈丽,139,extra\n3\n", encoding="utf-8")
    frame = read_source(channel(), path).frame
    assert len(frame) == 3
    assert frame[READ_PROBLEM].tolist()[0] is None
    assert frame[READ_PROBLEM].tolist()[1] == "row has 4 fields, header has 3"
    assert frame[READ_PROBLEM].tolist()[2] == "row has 1 fields, header has 3"
    assert frame["_source_row"].tolist() == [2, 3, 4]


def test_huge_field_makes_a_broken_row_and_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(f"客户号,姓名,手机\n1,{'张' * 10_000_000},138\n2,陈丽,139\n", encoding="utf-8")
    frame = read_source(channel(), path).frame
    assert frame[READ_PROBLEM].tolist() == [
        "field '姓名' is 10,000,000 characters long (limit 100,000)",
        None,
    ]
    assert len(frame.loc[0, "姓名"]) < 300 and frame.loc[0, "姓名"].endswith("characters]")
    assert frame.loc[1, "姓名"] == "陈丽"


def test_missing_mapped_column_names_channel_column_and_field(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("客户号,姓名\n1,张伟\n", encoding="utf-8")
    table = read_source(channel(), path)
    with pytest.raises(
        SourceError, match=r"b\.csv: channel 'branch': column '手机' \(for mobile\)"
    ):
        check_columns(table, channel())


def test_jsonl_bad_line_is_kept_with_its_problem(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"客户号": "u1", "姓名": "王芳", "手机": "+86 138"}), "{not json", "[1]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame = read_source(channel(format="jsonl"), path).frame
    assert frame[READ_PROBLEM].tolist()[0] is None
    assert frame[READ_PROBLEM].tolist()[1].startswith("not valid JSON")
    assert frame[READ_PROBLEM].tolist()[2] == "not valid JSON: not a JSON object"


def test_xlsx_named_sheet_and_native_cells(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    path = tmp_path / "f.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "客户"
    sheet.append(["客户号", "姓名", "手机"])
    sheet.append([1001, "李娜", dt.datetime(2024, 4, 2)])
    workbook.save(path)
    table = read_source(channel(format="xlsx", sheet="客户"), path)
    assert table.frame.loc[0, "姓名"] == "李娜"
    with pytest.raises(SourceError, match=r"no sheet 'missing'"):
        read_source(channel(format="xlsx", sheet="missing"), path)


def test_sql_table_channel(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'src.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text('CREATE TABLE "clients" ("客户号" TEXT, "姓名" TEXT, "手机" TEXT)')
        )
        connection.execute(sa.text("INSERT INTO clients VALUES ('7', '赵敏', '13900000000')"))
    engine.dispose()
    table = read_source(channel(format="sql", url=url, query="clients", path=None), None)
    assert table.frame.loc[0, "姓名"] == "赵敏"


def test_split_rejects_quarantines_missing_and_repeated_ids(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        "客户号,姓名,手机\n1,张伟,138\n,陈丽,139\n1,王芳,137\n2,李娜,136,x\n", encoding="utf-8"
    )
    config = channel()
    mapped = map_table(read_source(config, path), config, pd.Timestamp("2026-01-01", tz="UTC"))
    keep, rejects = split_rejects(mapped)
    assert keep["source_record_id"].tolist() == ["1"]
    assert len(keep) + len(rejects) == 4
    rules = [[r["rule"] for r in reasons] for reasons in rejects["reasons"]]
    assert rules == [["record_id_present"], ["record_id_unique"], ["readable_row"]]
    assert "b.csv row 2" in rejects["reasons"].iloc[1][0]["message"]
    assert json.loads(rejects["raw_payload"].iloc[0])["姓名"] == "陈丽"


def test_map_table_joins_columns_and_applies_defaults(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("客户号,姓名,street,building,type\n1,张伟,长安街,1号楼,\n", encoding="utf-8")
    config = channel(
        columns={"full_name": "姓名", "address": ["street", "building"], "id_type": "type"},
        defaults={"id_type": "CN_RID", "list_flag": "red"},
    )
    mapped = map_table(read_source(config, path), config, pd.Timestamp("2026-01-01", tz="UTC"))
    row = mapped.iloc[0]
    assert row["address"] == "长安街 1号楼"
    assert row["id_type"] == "CN_RID"
    assert row["list_flag"] == "red"
    assert len(row["raw_hash"]) == 64


TRADITIONAL = (
    "客戶號,姓名,手機,地址\n1,陳麗華,0912345678,臺北市中正區\n2,黃志明,0922333444,高雄市\n"
)
SIMPLIFIED = (
    "客户号,姓名,手机,地址\n1,陈丽华,13812345678,北京市朝阳区\n2,黄志明,13922333444,广州市\n"
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (TRADITIONAL, "big5"),  # also decodes as gb18030, into rare characters and kana
        (SIMPLIFIED, "gb18030"),  # also decodes as big5, into rare traditional characters
        (TRADITIONAL, "gb18030"),  # traditional characters in a mainland export
        ("id,name\n1,張偉\n", "big5"),  # a single short name is enough
        ("id,name\n1,张伟\n", "gb18030"),
        (SIMPLIFIED, "utf-8"),
        (TRADITIONAL, "utf-8-sig"),
    ],
)
def test_auto_encoding_tells_gb18030_from_big5(tmp_path: Path, text: str, encoding: str) -> None:
    from mdm.channels.readers import decode, detect_encoding

    data = text.encode(encoding)
    assert decode(data, "auto", "f.csv") == text
    assert detect_encoding(data).replace("-sig", "") == encoding.replace("-sig", "")


def test_auto_encoding_on_a_file_in_no_known_encoding_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes("客户号,姓名,手机\n1,陈丽,1\n".encode() + b"2,\xff\xfe\xff,2\n")
    with pytest.raises(SourceError, match=r"b\.csv: line 3: byte 0x\w\w is not valid"):
        read_source(channel(encoding="auto"), path)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_csv_delimiter_declared_or_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "b.csv"
    lines = [["客户号", "姓名", "手机"], ["1", "张伟", "138"], ["2", "陈;丽|华", "139"]]
    text = "\n".join(
        delimiter.join(f'"{v}"' if delimiter in v else v for v in row) for row in lines
    )
    path.write_text(text + "\n", encoding="utf-8")
    for setting in (delimiter, "auto"):
        table = read_source(channel(delimiter=setting), path)
        assert table.columns == ["客户号", "姓名", "手机"]
        assert table.frame["姓名"].tolist() == ["张伟", "陈;丽|华"]


def test_csv_header_below_title_lines_and_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        '客户清单 2026-11-22\n导出人: 系统\n客户号,姓名,手机\n1,"张\n伟",138\n2,陈丽,139\n',
        encoding="utf-8",
    )
    frame = read_source(channel(header_row=3), path).frame
    assert frame["姓名"].tolist() == ["张\n伟", "陈丽"]
    assert frame["_source_row"].tolist() == [4, 6]  # the line each row starts on


def test_header_only_file_reads_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("客户号,姓名,手机\n", encoding="utf-8")
    config = channel()
    table = read_source(config, path)
    check_columns(table, config)
    keep, rejects = split_rejects(map_table(table, config, pd.Timestamp("2026-01-01", tz="UTC")))
    assert (len(keep), len(rejects)) == (0, 0)


@pytest.mark.parametrize(
    "cut",
    [
        '客户号,姓名,手机\n1,张伟,138\n2,"陈',  # inside a quoted field
        "客户号,姓名,手机\n1,张伟,138\n2,陈丽",  # mid-row, no closing line break
    ],
)
def test_truncated_csv_is_an_error_naming_the_file(tmp_path: Path, cut: str) -> None:
    path = tmp_path / "cut.csv"
    path.write_text(cut, encoding="utf-8")
    with pytest.raises(SourceError, match=r"cut\.csv: the file ends in the middle of a row"):
        read_source(channel(), path)


def test_short_last_row_with_its_line_break_is_a_quarantined_row_not_truncation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "b.csv"
    path.write_text("客户号,姓名,手机\n1,张伟,138\n2,陈丽\n", encoding="utf-8")
    frame = read_source(channel(), path).frame
    assert frame[READ_PROBLEM].tolist() == [None, "row has 2 fields, header has 3"]


def test_truncated_xlsx_is_an_error_naming_the_file(tmp_path: Path) -> None:
    import openpyxl

    whole = tmp_path / "whole.xlsx"
    workbook = openpyxl.Workbook()
    for number in range(200):
        workbook.active.append([number, "李娜", "13800000000"])
    workbook.save(whole)
    data = whole.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"cut\.xlsx: cannot read as xlsx"):
        read_source(channel(format="xlsx"), cut)


def test_delimiter_must_be_one_character() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="one character or 'auto'"):
        channel(delimiter=";;")


def test_a_file_matched_by_two_channels_or_copied_is_read_once(tmp_path: Path) -> None:
    from flows.ingest import plan_deliveries
    from mdm.channels.config import load_channels

    (tmp_path / "channels.yaml").write_text(
        "channels:\n"
        "  branch: {path: 'b*.csv', record_id: 客户号, columns: {full_name: 姓名}}\n"
        "  legacy: {path: '*.csv', record_id: 客户号, columns: {full_name: 姓名}}\n",
        encoding="utf-8",
    )
    (tmp_path / "b1.csv").write_text("客户号,姓名\n1,张伟\n", encoding="utf-8")
    (tmp_path / "b2.csv").write_text("客户号,姓名\n1,张伟\n", encoding="utf-8")  # a copy
    (tmp_path / "old.csv").write_text("客户号,姓名\n9,陈丽\n", encoding="utf-8")
    reads, repeats = plan_deliveries(load_channels(tmp_path))
    assert {name: [p.name for p in files] for name, files in reads.items()} == {
        "branch": ["b1.csv"],
        "legacy": ["old.csv"],
    }
    assert repeats == {
        "branch": [{"file": "b2.csv", "same_as": "branch/b1.csv"}],
        "legacy": [
            {"file": "b1.csv", "same_as": "branch/b1.csv"},
            {"file": "b2.csv", "same_as": "branch/b1.csv"},
        ],
    }


def test_a_channel_left_with_no_file_to_read_yields_no_rows(tmp_path: Path) -> None:
    from flows.ingest import ingest_channel, standardize_channel
    from mdm.channels.config import load_channels

    (tmp_path / "channels.yaml").write_text(
        "channels:\n  branch: {path: 'b*.csv', record_id: 客户号, columns: {full_name: 姓名}}\n",
        encoding="utf-8",
    )
    (tmp_path / "b1.csv").write_text("客户号,姓名\n", encoding="utf-8")  # header only
    config = load_channels(tmp_path)
    (branch,) = config.channels
    for files in (None, {}):  # its one file, header only; or nothing left to read
        batch = standardize_channel.fn(ingest_channel.fn(config, branch, files), branch)
        assert (batch.rows_read, len(batch.records), len(batch.rejects)) == (0, 0, 0)


def _scratch_source(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text('CREATE TABLE "clients" ("客户号" TEXT, "姓名" TEXT, "手机" TEXT)')
        )
        connection.execute(sa.text("INSERT INTO clients VALUES ('7', '赵敏', '13900000000')"))
    engine.dispose()


def _client_count(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM clients")).scalar_one()
    engine.dispose()
    return int(count)


@pytest.mark.parametrize("source", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_row3_sql_query_with_several_statements_is_refused(
    tmp_path: Path, source: str, request: pytest.FixtureRequest
) -> None:
    from mdm.channels.config import load_channels
    from mdm.errors import ConfigError

    url = (
        f"sqlite:///{tmp_path / 'src.db'}"
        if source == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    _scratch_source(url)
    (tmp_path / "channels.yaml").write_text(
        json.dumps(
            {
                "channels": {
                    "core": {
                        "format": "sql",
                        "url": url,
                        "query": "SELECT * FROM clients; DROP TABLE clients; COMMIT;",
                        "record_id": "客户号",
                        "columns": {"full_name": "姓名"},
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"channel 'core': field 'query': .*one statement"):
        load_channels(tmp_path)
    assert _client_count(url) == 1


@pytest.mark.postgres
def test_row3_sql_query_runs_read_only_on_postgres(postgres_url: str) -> None:
    import sqlalchemy as sa

    _scratch_source(postgres_url)
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:  # a write hidden behind a SELECT
        connection.execute(
            sa.text(
                "CREATE FUNCTION wipe() RETURNS bigint LANGUAGE sql AS"
                " 'DELETE FROM clients; SELECT count(*) FROM clients'"
            )
        )
    engine.dispose()
    config = channel(format="sql", url=postgres_url, query="SELECT wipe() AS n", path=None)
    with pytest.raises(SourceError, match="read-only transaction") as caught:
        read_source(config, None)
    assert len(str(caught.value).splitlines()) == 1
    assert _client_count(postgres_url) == 1
    table = read_source(channel(format="sql", url=postgres_url, query="clients", path=None), None)
    assert table.frame.loc[0, "姓名"] == "赵敏"


def test_row3_sqlite_source_is_opened_query_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'src.db'}"
    _scratch_source(url)
    config = channel(
        format="sql",
        url=url,
        query="select * from pragma_query_only",
        path=None,
        record_id="query_only",
    )
    table = read_source(config, None)
    assert table.frame.loc[0, "query_only"] == 1


def test_row10_a_very_wide_header_is_read_in_linear_time(tmp_path: Path) -> None:
    import time

    width = 20_000  # took 37 s when the header was checked and measured column by column
    path = tmp_path / "wide.csv"
    extra = [f"c{i}" for i in range(width - 3)]
    path.write_text(
        ",".join(["客户号", "姓名", "手机", *extra])
        + "\n"
        + ",".join(["1", "张伟", "13812345678", *[""] * len(extra)])
        + "\n",
        encoding="utf-8",
    )
    started = time.perf_counter()
    table = read_source(channel(), path)
    mapped = map_table(table, channel(), dt.datetime(2026, 12, 3, tzinfo=dt.UTC))
    assert time.perf_counter() - started < 10  # 20 s for map_table alone before
    assert len(table.columns) == width and table.frame.loc[0, "姓名"] == "张伟"
    assert json.loads(mapped.loc[0, "raw_payload"])["c19996"] == ""


def test_row10_oversized_fields_are_still_cut_in_wide_files(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        f"客户号,姓名,手机\n1,{'x' * 100_001},13812345678\n2,陈丽,1\n", encoding="utf-8"
    )
    frame = read_source(channel(), path).frame
    assert frame.loc[0, "姓名"].endswith("[cut: 100,001 characters]")
    assert frame.loc[0, READ_PROBLEM] == "field '姓名' is 100,001 characters long (limit 100,000)"
    assert frame.loc[1, READ_PROBLEM] is None
