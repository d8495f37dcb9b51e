"""End-to-end backfill runs: seeds, made-up WARC/JSONL/HTML, every shared sample archive."""

import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from deltalake import DeltaTable

from newsflow.pipelines import backfill
from newsflow.pipelines.cli import main
from newsflow.transforms.catalog import read_delta
from tests.conftest import BEAM_TEST_ARGS
from tests.test_archives import ARTICLE_HTML, make_warc

INGESTED_AT = "2026-01-01T00:00:00+00:00"


def run_backfill(inputs: list[str], output: Path, *extra: str) -> dict:
    args = BEAM_TEST_ARGS + [f"--input={i}" for i in inputs] + [
        f"--output={output}", f"--ingested_at={INGESTED_AT}", "--extract_timeout=0", *extra]
    with beam.Pipeline(options=PipelineOptions(args)) as p:
        outputs = backfill.build(p, PipelineOptions(args))
        assert_that(outputs["summary"] | beam.Map(lambda s: s["balanced"]), equal_to([True]),
                    label="Balanced")
    return backfill.load_summary(str(output), outputs["commit_id"])


def read_rows(output: Path) -> list[dict]:
    """The table's rows as any Delta reader sees them (deltalake reads the log)."""
    table = read_delta(DeltaTable(str(output / "articles")))
    return sorted(table.to_pylist(), key=lambda r: r["source_ref"])


@pytest.fixture(scope="module")
def seeds_output(seeds_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("seeds")
    summary = run_backfill([str(seeds_dir / "*.txt")], output)
    return output, summary


def test_seeds_end_to_end(seeds_output):
    output, summary = seeds_output
    assert summary["read"] == summary["written"] == 5 and summary["balanced"]
    rows = read_rows(output)
    assert [r["language"] for r in rows] == ["en"] * 5
    dates = [r["published_at"].date().isoformat() if r["published_at"] else None for r in rows]
    assert dates == ["2023-11-12", "2023-09-15", "2023-09-15", None, "2023-09-15"]
    assert [r["date_source"] for r in rows] == ["text_dump_prefix"] * 3 + [None,
                                                                          "text_dump_prefix"]
    seed3 = rows[3]
    assert seed3["title"] == "Kim Jong Un visited Russian fighter jet factory"
    assert seed3["text"].startswith("On Friday, North Korean Leader Kim Jong Un")
    assert seed3["text"].endswith("voted in favour of.")
    assert "July 1, 2024" not in seed3["text"] and "Most Popular" not in seed3["text"]
    assert seed3["dt"] is None  # Delta's null partition
    assert {r["commit_id"] for r in rows} == {summary["commit_id"]}
    assert rows[4]["wire"] == "AP" and rows[4]["dateline"] == "Seoul"
    assert len({r["article_id"] for r in rows}) == 5
    for row in rows:
        assert dict(row["versions"]).keys() == {"newsflow", "trafilatura", "langdetect"}
        assert row["schema_version"] >= 1 and len(row["content_hash"]) == 64


def test_one_run_is_one_delta_commit(seeds_output):
    output, summary = seeds_output
    commit = summary["commit_id"]
    table = DeltaTable(str(output / "articles"))
    assert table.version() == 0
    entry = table.history(1)[0]
    assert entry["newsflow.commit_id"] == commit and entry["newsflow.rows"] == 5
    assert table.transaction_version(commit) == entry["newsflow.app_version"]
    assert sorted(p.rsplit("/", 3)[1] for p in table.file_uris()) == [
        "dt=2023-09-15", "dt=2023-11-12", "dt=__HIVE_DEFAULT_PARTITION__"]
    assert all(f"part-{commit}-" in p for p in table.file_uris())
    assert not list((output / "articles").rglob(".*tmp*"))  # no temp file left behind
    assert json.loads((output / "runs" / f"{commit}.json").read_text())["written"] == 5


def test_polars_and_pandas_read_the_table(seeds_output):
    polars = pytest.importorskip("polars")
    pytest.importorskip("pandas")
    output, _ = seeds_output
    frame = polars.scan_delta(str(output / "articles")).filter(polars.col("lang") == "en")
    assert frame.select(polars.len()).collect().item() == 5
    assert DeltaTable(str(output / "articles")).to_pandas()["dt"].isna().sum() == 1


def test_rerun_replaces_its_own_rows_in_one_commit(seeds_dir, tmp_path):
    first = run_backfill([str(seeds_dir / "*.txt")], tmp_path)
    rows_before = read_rows(tmp_path)
    files_before = set(DeltaTable(str(tmp_path / "articles")).file_uris())
    second = run_backfill([str(seeds_dir / "*.txt")], tmp_path)
    table = DeltaTable(str(tmp_path / "articles"))
    assert first["commit_id"] == second["commit_id"] and table.version() == 1
    assert read_rows(tmp_path) == rows_before  # same rows, replaced, not duplicated
    assert not files_before & set(table.file_uris())  # new files, old ones removed ...
    log = (tmp_path / "articles" / "_delta_log" / f"{1:020d}.json").read_text()
    assert log.count('"remove"') == 3 and log.count('"add"') == 3  # ... in the same version


def test_another_run_keeps_earlier_runs_rows(seeds_dir, tmp_path):
    run_backfill([str(seeds_dir / "00[01]_*.txt")], tmp_path)
    run_backfill([str(seeds_dir / "00[34]_*.txt")], tmp_path)
    assert len(read_rows(tmp_path)) == 4
    assert DeltaTable(str(tmp_path / "articles")).version() == 1


def test_mixed_inputs_conserve_every_record(tmp_path, samples_dir):
    inputs = tmp_path / "in"
    (inputs / "html").mkdir(parents=True)
    make_warc(inputs / "made.warc.gz", truncate_last=True)
    (inputs / "html" / "page.html").write_text(ARTICLE_HTML)
    (inputs / "export.jsonl").write_text("\n".join([
        json.dumps({"url": "https://a.test/2023/09/15/story", "html": ARTICLE_HTML}),
        "{broken",
        json.dumps({"url": "https://a.test/2", "text": "Short."}),
    ]) + "\n")
    output = tmp_path / "out"
    summary = run_backfill([str(inputs / "made.warc.gz"), f"{inputs}/html/*.html",
                            str(inputs / "export.jsonl"),
                            f"{samples_dir}/warc/*/*.*arc*"], output,
                           "--max_dead_letter_ratio=1")
    assert summary["balanced"]
    assert summary["read"] == (summary["written"] + summary["duplicates"] +
                               summary["dead_letters"] + summary["skipped"])
    assert summary["dead_letters_by_reason"]["read:bad_json"] == 1
    assert summary["skipped_by_reason"]["classify:too_short"] >= 1
    assert summary["written"] >= 3
    dead = [json.loads(line) for path in (output / "dead_letter").glob("*.jsonl")
            for line in path.read_text().splitlines()]
    assert len(dead) == summary["dead_letters"]
    assert all(d["stage"] and d["reason"] and d["source_ref"] for d in dead)
    assert any(d["raw"] == "{broken" for d in dead)
    skipped = [json.loads(line) for path in (output / "skipped").glob("*.jsonl")
               for line in path.read_text().splitlines()]
    assert len(skipped) == summary["skipped"]
    by_reason = {}
    for line in skipped:
        key = f"{line['stage']}:{line['reason']}"
        by_reason[key] = by_reason.get(key, 0) + 1
    assert by_reason == summary["skipped_by_reason"]
    assert all(line["source_ref"] and "html" not in line for line in skipped)  # no raw by default


def test_skips_keep_their_input_on_request_and_replay(tmp_path):
    index = "<html><head><title>Politics</title></head><body><ul>" + "".join(
        f"<li><a href='/p/{i}'>Headline number {i} of the politics section</a></li>"
        for i in range(14)) + "</ul></body></html>"
    (tmp_path / "in.jsonl").write_text("\n".join([
        json.dumps({"url": "https://a.test/", "html": index}),
        json.dumps({"url": "https://a.test/2", "text": "Short."}),
    ]) + "\n")
    first = run_backfill([str(tmp_path / "in.jsonl")], tmp_path / "out", "--keep_skipped_raw")
    assert first["skipped_by_reason"] == {"classify:index_page": 1, "classify:too_short": 1}
    lines = [json.loads(line) for path in (tmp_path / "out" / "skipped").glob("*.jsonl")
             for line in path.read_text().splitlines()]
    assert {line["url"]: "html" in line for line in lines} == {"https://a.test/": True,
                                                                "https://a.test/2": False}
    assert [line["text"] for line in lines if "text" in line] == ["Short."]
    # the skipped lines are themselves backfill input: replaying gives the same outcomes
    replay = run_backfill([str(tmp_path / "out" / "skipped" / "*.jsonl")], tmp_path / "again")
    assert replay["skipped_by_reason"] == first["skipped_by_reason"]


def test_cli_rejects_unknown_flags_and_missing_inputs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["backfill", "--input", "x", "--outptu", str(tmp_path)])
    assert exc.value.code == 2
    assert "--outptu" in capsys.readouterr().err
    assert main(["backfill", f"--input={tmp_path}/nothing-*.warc", f"--output={tmp_path}",
                 "--runner=FnApiRunner"]) == 2
    assert "matches no files" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["backfill", "--help"])
    assert exc.value.code == 0
    assert "--max_dead_letter_ratio" in capsys.readouterr().out


def test_cli_backfill_runs_and_fails_on_dead_letter_ratio(seeds_dir, tmp_path, capsys):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    code = main(["backfill", f"--input={seeds_dir}/00[01]_*.txt,{junk}",
                 f"--output={tmp_path}/out", "--runner=FnApiRunner", "--extract_timeout=0",
                 "--max_dead_letter_ratio=0.1"])
    out = capsys.readouterr()
    assert code == 1 and "dead-letter ratio" in out.err
    assert "read 3 = written 2" in out.out


@pytest.mark.parametrize("drop", [False, True])
def test_syndicated_copies_are_clustered_not_lost(tmp_path, drop):
    from newsflow.pipelines.demo.sample_corpus import write_corpus

    info = write_corpus(tmp_path / "in", n_articles=24, seed=0)
    output = tmp_path / "out"
    summary = run_backfill(info.input_globs, output,
                           *(["--drop_duplicates"] if drop else []))
    copies = len(info.syndicated)
    assert copies == 3 and summary["balanced"]
    rows = read_rows(output)
    if drop:
        assert summary["duplicates"] == 0
        assert summary["skipped_by_reason"]["dedup:duplicate"] == copies
        assert not any(r["is_duplicate"] for r in rows)
        return
    assert summary["duplicates"] == copies
    by_url = {r["url"]: r for r in rows}
    original = by_url[info.wire_original]
    assert original["is_duplicate"] is False and original["cluster_id"] == original["article_id"]
    for url in info.syndicated:
        copy = by_url[url]
        assert copy["is_duplicate"] and copy["duplicate_of"] == original["article_id"]
        assert copy["cluster_id"] == original["article_id"] and copy["similarity"] >= 0.5
    assert len({r["cluster_id"] for r in rows}) == len(rows) - copies
