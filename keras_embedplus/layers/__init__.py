"""The Keras layers: the lookup, its one-hot twin and the pretrained table."""
