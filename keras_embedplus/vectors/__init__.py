"""Vector I/O: read files into gensim KeyedVectors, align, write back."""
