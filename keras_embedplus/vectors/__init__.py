"""The ground floor: vector files <-> gensim `KeyedVectors`.

numpy and gensim only, never Keras. `read` loads files of every format
(`detect` tells them apart, `text_format`, `float_fields` and
`binary_format` parse them), `cache` keeps a pickle-free copy that reloads
in milliseconds.
"""
