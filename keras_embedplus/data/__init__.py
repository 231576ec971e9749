"""Training data for embeddings: skip-gram pairs with negative samples.

`skipgram_dataset` feeds a word2vec model built from Keras layers; the
Keras 2 helpers `make_sampling_table` and `skipgrams` (removed from
`keras.preprocessing.sequence` in Keras 3) are here with their Keras 2
signatures, so Keras 2 code ports by changing one import.
"""

from keras_embedplus.data.keras2_sequence import make_sampling_table
from keras_embedplus.data.keras2_sequence import skipgrams
from keras_embedplus.data.skipgram_data import skipgram_dataset

__all__ = ["make_sampling_table", "skipgram_dataset", "skipgrams"]
