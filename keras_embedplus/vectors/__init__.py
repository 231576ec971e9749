"""Vector I/O: read files into gensim KeyedVectors, align, write back.

The ground floor: numpy and gensim only, never Keras. `read` loads files
of every format (`detect` tells them apart; `text_format`, `float_fields`
and `binary_format` parse them) and `cache` keeps a pickle-free copy that
reloads in milliseconds; `align` maps vectors onto a vocabulary and `write`
saves them back.
"""
