"""Write a large, deterministic text file of random words for the wordcount benchmark.

``--vocabulary`` sets how many distinct (lower-cased) words exist, and so the size of the
wordcount's result: 10 000 gives a tiny result, 5 000 000 a result of millions of rows. Words
are drawn uniformly, so a file large enough holds (nearly) every word of the vocabulary.

Speed matters (a 1 GB file must not dominate a benchmark session): the file is built in
blocks of about 16 MB by numpy gathers from one byte string holding the whole vocabulary,
never word by word in Python. The seed and the block size are fixed, so the same arguments
always give the same bytes.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

SEED = 20240501
WORDS_PER_BLOCK = 2_000_000  # about 16 MB of text; part of the output's identity (determinism)
NEWLINE_EVERY = 12  # mean words per line
CAPITALISED = 0.05  # share of words written with a capital first letter (lower() must matter)
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """``1G``, ``256M``, ``64K`` or a plain byte count."""
    match = re.fullmatch(r"(\d+)([KMG]?)B?", text.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: use e.g. 1G, 256M, 1000000")
    return int(match.group(1)) * SIZE_UNITS[match.group(2)]


def vocabulary(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` distinct lower-case words as one byte array of ``word + " "`` entries.

    Word ``i`` ends with ``i * 7919 mod 26**d`` written in ``d`` base-26 letters (a bijection,
    as 7919 is prime to 26, so the endings are distinct and look random) and starts with random
    letters up to a random length of 3 to 10 letters (at least ``d``).
    Returns (bytes, offset of each entry, letters of each word).
    """
    digits = 1  # base-26 letters needed to tell `count` words apart
    while 26**digits < count:
        digits += 1
    lengths = np.maximum(digits, rng.integers(3, 11, count))
    width = int(lengths.max())
    letters = rng.integers(ord("a"), ord("z") + 1, (count, width), dtype=np.uint8)
    rest = np.arange(count, dtype=np.int64) * 7919 % 26**digits
    for column in range(width - 1, width - 1 - digits, -1):
        letters[:, column] = ord("a") + rest % 26
        rest //= 26
    # Keep the last `length` letters of each row, then a space: one ragged byte string.
    keep = np.arange(width)[None, :] >= (width - lengths)[:, None]
    entries = np.concatenate([letters, np.full((count, 1), ord(" "), dtype=np.uint8)], axis=1)
    keep = np.concatenate([keep, np.ones((count, 1), dtype=bool)], axis=1)
    data = entries[keep]
    offsets = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    return data, offsets, lengths


def blocks(vocab_size: int) -> Iterator[np.ndarray]:
    """Endless ~16 MB blocks of text (uint8 arrays), each ending with a newline."""
    rng = np.random.default_rng(SEED)
    data, offsets, lengths = vocabulary(vocab_size, rng)
    while True:
        picks = rng.integers(0, vocab_size, WORDS_PER_BLOCK)
        sizes = lengths[picks] + 1  # letters + separator
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        total = int(starts[-1] + sizes[-1])
        # Output byte j of word k comes from data[offsets[pick_k] + (j - starts[k])].
        source = np.repeat(offsets[picks] - starts, sizes) + np.arange(total)
        block = data[source]
        ends = starts + sizes - 1
        block[ends[rng.random(WORDS_PER_BLOCK) < 1 / NEWLINE_EVERY]] = ord("\n")
        block[-1] = ord("\n")
        block[starts[rng.random(WORDS_PER_BLOCK) < CAPITALISED]] -= 32  # ASCII upper case
        yield block


def generate(path: Path, size: int, vocab_size: int) -> int:
    """Write whole lines until ``size`` bytes would be exceeded; returns the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as out:
        for block in blocks(vocab_size):
            room = size - written
            last = len(block) > room
            if last:
                newlines = np.flatnonzero(block[:room] == ord("\n"))
                block = block[: newlines[-1] + 1] if len(newlines) else block[:0]
            out.write(block.tobytes())
            written += len(block)
            if last:
                break
    tmp.replace(path)  # a killed run never leaves a short file under the real name
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="file to write, e.g. bench/data/words-1G-v10000.txt")
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"), help="default 1G")
    parser.add_argument("--vocabulary", type=int, default=10_000, help="distinct words (default 10000)")
    args = parser.parse_args(argv)
    if args.vocabulary < 1:
        parser.error("--vocabulary must be at least 1")
    began = time.perf_counter()
    written = generate(args.output, args.size, args.vocabulary)
    seconds = time.perf_counter() - began
    print(f"wrote {written:,} bytes, vocabulary {args.vocabulary:,}, to {args.output} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
