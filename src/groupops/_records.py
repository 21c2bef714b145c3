"""Files of input records: JSON Lines and CSV read line by line into records with their
file and line number, each bad line set aside with its reasons (what ``groupops ingest``
reads, and what a host importing a file of events or members reads the same way)."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._engine import parse_json_record
from ._errors import InputError
from ._model import MAX_RECORD_SIZE

__all__ = ["InputRecord", "read_records"]


@dataclass(frozen=True)
class InputRecord:
    """One record of a file: where it came from (``file``, ``line``, from 1), what it said
    (``raw``: the parsed object, the CSV row, or the text of a line that could not be
    read), and what we made of it: ``record``, the mapping to give
    :meth:`Engine.ingest <groupops.Engine.ingest>` (an event, or a member profile), or
    None with the ``problems`` that set it aside."""

    file: str
    line: int
    raw: Any
    record: dict[str, Any] | None
    problems: tuple[str, ...] = ()


def _physical_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The lines of a file as bytes, numbered from 1, without their line break; a line
    longer than MAX_RECORD_SIZE is cut there (the reader rejects it) and the rest of it
    skipped, so one huge line never sits in memory."""
    with path.open("rb") as f:
        number = 0
        while True:
            raw = f.readline(MAX_RECORD_SIZE + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_RECORD_SIZE and not raw.endswith(b"\n"):
                while (rest := f.readline(1 << 16)) and not rest.endswith(b"\n"):
                    pass
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            yield number, raw.rstrip(b"\r\n")


def _decoded_lines(path: Path) -> Iterator[tuple[int, str | None, InputRecord | None]]:
    """Each line as text, or a rejected :class:`InputRecord` saying why it is not (too long,
    not UTF-8): one bad line never costs the others."""
    for number, raw in _physical_lines(path):
        if len(raw) > MAX_RECORD_SIZE:
            problem = f"the line is longer than {MAX_RECORD_SIZE:,} bytes (the limit for one record)"
            shown = raw[:200].decode("utf-8", "replace")
            yield number, None, InputRecord(str(path), number, shown, None, (problem,))
            continue
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as exc:
            problem = f"not UTF-8 text: {exc.reason} at byte {exc.start + 1} of the line"
            shown = raw.decode("utf-8", "backslashreplace")
            yield number, None, InputRecord(str(path), number, shown, None, (problem,))


def _looks_like_json_lines(path: Path) -> bool:
    """True if the first line with text starts a JSON object, whatever the file's name."""
    for _, raw in _physical_lines(path):
        text = raw.strip()
        if text:
            return text.startswith(b"{")
    return False


def read_records(path: str | Path) -> Iterator[InputRecord]:
    """Records of a JSON Lines or CSV file. The content decides: a file whose first
    line starts with ``{`` is JSON Lines even if it is named ``.csv``; otherwise a
    ``.csv`` file is CSV and any other JSON Lines.

    A line that is not UTF-8, longer than the limit for one record, not valid JSON or
    CSV, or not an object, is an :class:`InputRecord` with ``record`` None and its
    problems; the lines after it are read as usual. Blank lines are skipped. Records are
    yielded as the file is read, so a file of any size takes the memory of one line.
    CSV cells are text: ``value`` must be written as a number, ``data`` and
    ``attributes`` as JSON objects, ``labels`` separated by ``|`` or ``;``.

    :raises OSError: the file cannot be opened."""
    path = Path(path)
    if path.suffix.lower() == ".csv" and not _looks_like_json_lines(path):
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[InputRecord]:
    for number, text, bad in _decoded_lines(path):
        if bad is not None:
            yield bad
            continue
        assert text is not None
        text = text.strip()
        if not text:
            continue
        try:
            data = parse_json_record(text)
        except InputError as exc:
            yield InputRecord(str(path), number, text, None, tuple(map(str, exc.problems)))
            continue
        if not isinstance(data, dict):
            problem = f"expected an event or member object, got {type(data).__name__}"
            yield InputRecord(str(path), number, data, None, (problem,))
            continue
        yield InputRecord(str(path), number, data, data)


def _split_labels(text: str) -> list[str]:
    sep = "|" if "|" in text else ";"
    return [x.strip() for x in text.split(sep) if x.strip()]


def _csv_row(text: str) -> list[str]:
    """One CSV record from one line (strict: an unclosed quote is an error, never a
    field that runs on into the next line)."""
    return next(csv.reader([text], strict=True), [])


def _read_csv(path: Path) -> Iterator[InputRecord]:
    header: list[str] | None = None
    no_header = ""  # why the header line is unusable: then every record is rejected
    for number, text, bad in _decoded_lines(path):
        if bad is None:
            assert text is not None
            if not text.strip():
                continue
            try:
                row = _csv_row(text)
            except csv.Error as exc:
                problem = f"not valid CSV: {exc} (a record is one line; a quoted field must close on it)"
                bad = InputRecord(str(path), number, text, None, (problem,))
        if header is None and not no_header:
            if bad is not None:
                no_header = f"the header (line {number}) is unusable: {'; '.join(bad.problems)}"
                yield bad
            else:
                header = [h.strip() for h in row]
            continue
        if bad is not None:
            yield bad
            continue
        if header is None:
            yield InputRecord(str(path), number, text, None, (no_header,))
            continue
        raw = dict(zip(header, row, strict=False))
        if len(row) != len(header):
            problem = f"has {len(row)} fields; the header has {len(header)} ({','.join(header)})"
            yield InputRecord(str(path), number, row, None, (problem,))
            continue
        record, problems = _csv_record(raw)
        yield InputRecord(str(path), number, raw, record if not problems else None, tuple(problems))


_JSON_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")


def _csv_record(raw: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """A CSV row as an event (it has a kind) or a member; empty cells are absent.

    CSV cells are all text, so the columns that are not are converted here, explicitly,
    before validation: ``value`` must be written as a number (``12``, ``-3.5``,
    ``1e3``); ``data`` and ``attributes`` are JSON objects; ``labels`` are separated by
    ``|`` or ``;``. Everything else (``at`` included) stays text."""
    record: dict[str, Any] = {k: v.strip() for k, v in raw.items() if k and v.strip() != ""}
    problems: list[str] = []
    is_event = "kind" in record
    if is_event and "value" in record:
        if _JSON_NUMBER.match(record["value"]):
            record["value"] = float(record["value"])
        else:
            problems.append(f"value: {record['value']!r} is not a number like 12 or 2.5")
    for key in ("data", "attributes"):
        if key in record:
            try:
                record[key] = parse_json_record(record[key])
            except InputError as exc:
                problems.extend(f"{key}: {p.message}: {record[key][:200]!r}" for p in exc.problems)
    if not is_event and "labels" in record:
        record["labels"] = _split_labels(record["labels"])
    return record, problems
