"""fastText's character n-grams and their hashes, in TensorFlow ops.

fastText (and gensim's `ft_ngram_hashes`) computes the subwords of a word
on the UTF-8 bytes of `"<" + word + ">"`: a character starts at every byte
that is not a continuation byte (`0b10xxxxxx`), and an n-gram is `n`
consecutive characters, for `minn <= n <= maxn`, except the lone `"<"` and
`">"`. Each n-gram is hashed with 32-bit FNV-1a over its bytes, where every
byte is first sign-extended (fastText XORs a C `char`, which is signed on
the machines it was built on: byte 0xC3 enters as 0xFFFFFFC3), and the
n-gram's row is `hash % bucket`.

Everything here is vectorized over a batch of words, so it runs eagerly,
inside `tf.function` and inside `tf.data`: the n-grams of every character
start are hashed together, one byte position at a time.
"""

_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619
_LOW_32 = 0xFFFFFFFF


def ngram_hashes(words, minn, maxn):
    """Returns the FNV-1a hashes of the n-grams of each word, as fastText.

    Args:
        words: 1-D string tensor.
        minn: Integer. Shortest n-gram, in characters.
        maxn: Integer. Longest n-gram, in characters.

    Returns:
        An int64 `tf.RaggedTensor` of shape `(len(words), None)`: for each
        word the unsigned 32-bit hashes of its n-grams, in gensim's order
        (by start character, then by length).
    """
    import tensorflow as tf

    words = tf.convert_to_tensor(words, tf.string)
    n_words = tf.shape(words, out_type=tf.int64)[0]
    if maxn <= 0 or maxn < minn:
        return tf.RaggedTensor.from_row_lengths(
            tf.zeros([0], tf.int64), tf.zeros([n_words], tf.int64)
        )
    wrapped = tf.strings.join(["<", words, ">"])
    byte_strings = tf.strings.bytes_split(wrapped)
    values = tf.io.decode_raw(byte_strings.flat_values, tf.uint8)
    values = tf.reshape(tf.cast(values, tf.int64), [-1])
    n_bytes = tf.size(values, out_type=tf.int64)
    word_of_byte = byte_strings.value_rowids()
    word_starts = byte_strings.row_starts()
    word_limits = byte_strings.row_limits()

    is_start = tf.not_equal(tf.bitwise.bitwise_and(values, 0xC0), 0x80)
    # The byte after a character's last byte starts a character: every
    # word starts with "<", and the last byte of all ends the last word.
    is_end = tf.concat([is_start[1:], [True]], 0)
    # fastText XORs each byte as a signed char, widened to 32 bits.
    signed = tf.where(values >= 128, values + 0xFFFFFF00, values)

    starts = tf.where(is_start)[:, 0]  # byte position of every character
    n_chars = tf.size(starts, out_type=tf.int64)
    word = tf.gather(word_of_byte, starts)
    limit = tf.gather(word_limits, word)
    # The bytes of `maxn` characters from each start, within its word.
    after = tf.minimum(tf.range(n_chars) + maxn, n_chars)
    span_end = tf.minimum(
        tf.gather(tf.concat([starts, [n_bytes]], 0), after), limit
    )
    span = span_end - starts
    width = tf.reduce_max(tf.concat([span, [0]], 0))

    offsets = tf.range(width, dtype=tf.int64)
    positions = starts[:, None] + offsets[None, :]
    valid = offsets[None, :] < span[:, None]
    safe = tf.minimum(positions, tf.maximum(n_bytes - 1, 0))
    columns = tf.transpose(tf.gather(signed, safe))
    valid_columns = tf.transpose(valid)

    def step(state, column):
        byte, ok = column
        mixed = tf.bitwise.bitwise_and(
            tf.bitwise.bitwise_xor(state, byte) * _FNV_PRIME, _LOW_32
        )
        return tf.where(ok, mixed, state)

    initial = tf.fill([n_chars], tf.constant(_FNV_OFFSET, tf.int64))
    states = tf.transpose(
        tf.scan(step, (columns, valid_columns), initializer=initial)
    )
    states = tf.reshape(states, [n_chars, width])

    ends = tf.logical_and(tf.gather(is_end, safe), valid)
    length = tf.cumsum(tf.cast(ends, tf.int64), axis=1)
    first = tf.equal(starts, tf.gather(word_starts, word))[:, None]
    last = tf.equal(positions + 1, limit[:, None])
    lone_bracket = tf.logical_and(
        tf.equal(length, 1), tf.logical_or(first, last)
    )
    emit = ends & (length >= minn) & (length <= maxn) & ~lone_bracket
    hashes = tf.boolean_mask(states, emit)
    per_start = tf.reduce_sum(tf.cast(emit, tf.int64), axis=1)
    per_word = tf.math.unsorted_segment_sum(per_start, word, n_words)
    return tf.RaggedTensor.from_row_lengths(hashes, per_word)
