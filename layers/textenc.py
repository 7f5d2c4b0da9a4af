"""Telling GBK/GB18030 text from UTF-8: many Chinese spreadsheets save CSV in GBK (Excel's "CSV" on a Chinese
Windows). When a file is not UTF-8 but reads as GB18030, the report says so, shows a line as GB18030 reads it
(so the person can see that it reads right), and offers to read it that way; it is never re-read silently."""

from __future__ import annotations

import codecs
from pathlib import Path

#: How much of a file is looked at.
SAMPLE_BYTES = 1 << 20


def gb18030_sample(data: bytes | Path) -> str | None:
    """When ``data`` (or the file) is not UTF-8 but its start decodes as GB18030 and holds Chinese text:
    its first line with Chinese characters, as GB18030 reads it (at most 60 characters). Otherwise None."""
    if isinstance(data, Path):
        with open(data, "rb") as fh:
            data = fh.read(SAMPLE_BYTES)
    head = data[:SAMPLE_BYTES]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SAMPLE_BYTES)
        return None
    except UnicodeDecodeError:
        pass
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(head, final=len(head) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        return None
    for line in text.splitlines():
        if any("\u4e00" <= c <= "\u9fff" for c in line):
            return line.strip()[:60]
    return None


def gb18030_message(sample: str) -> str:
    return (f"文件不是 UTF-8 编码，看起来是 GBK/GB18030（按此读出的一行：“{sample}”）：可按 GB18030 重新读取 · "
            "the file is not UTF-8 but reads as Chinese GBK/GB18030 text: choose that encoding "
            "(gb18030; command line: --encoding gb18030)")
