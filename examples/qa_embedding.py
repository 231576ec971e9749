"""The "How does Keras' Embedding layer work?" Q&A, run as written.

The first part is the question's Keras 2 script with only the import
changed (`keras_embedplus.Embedding` instead of `keras.layers.Embedding`):
it builds, predicts and prints as it did in Keras 2. The second part is
the answer's "Hope to see you soon" / "Nice to see you again" example,
walked through by `keras_embedplus.tools.demo` (the same as
`keras-embedplus demo`).

Usage: python examples/qa_embedding.py [--out DIR]
Pictures go to DIR (default: a new temporary directory).
"""

import argparse
import tempfile

import keras
import numpy as np
from keras.models import Sequential

from keras_embedplus import Embedding
from keras_embedplus.tools import demo

keras.utils.set_random_seed(0)

# The question's code; only the import of Embedding changed.
model = Sequential()
model.add(Embedding(5, 2, input_length=5))

input_array = np.random.randint(5, size=(1, 5))

model.compile("rmsprop", "mse")
output_array = model.predict(input_array)
print(output_array)
print(model.layers[0].get_weights())

# The answer's example, step by step.
parser = argparse.ArgumentParser(description="The Embedding Q&A, run.")
parser.add_argument("--out", metavar="DIR", help="directory for the pictures")
out_dir = parser.parse_args().out or tempfile.mkdtemp()
demo.run_walkthrough(out_dir)
