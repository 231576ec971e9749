"""What comes before the rows: a UTF-8 BOM and word2vec's "count dim" line.

word2vec files (text and binary) and fastText `.vec` files start with a
text line of two integers, the row count and the dimension; GloVe files
have none. Any of them may start with a UTF-8 byte-order mark, which the
readers skip when the encoding is UTF-8.
"""

BOM = b"\xef\xbb\xbf"
# Header numbers of more digits than this read as 10**18 (see below).
_DIGITS = 18


def parse_header(line):
    """`(count, dim)` if `line` is a word2vec header, else None.

    Numbers of more than 18 digits read as 10**18: no file holds that
    many rows or values, and the readers check the rows against it.
    """
    parts = line.split()
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
        return tuple(
            int(part) if len(part) <= _DIGITS else 10**_DIGITS for part in parts
        )
    return None


def declared(number, noun):
    """ "3 rows": a header's number and its noun; 10**18 stands for more."""
    if number >= 10**_DIGITS:
        return f"more than 10**18 {noun}s"
    return f"{number:,} {noun}" + ("" if number == 1 else "s")
