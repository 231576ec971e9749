"""User tools: the Q&A demo, pictures, exports and the command line.

The top floor of the package: it uses the layers and the vector modules,
and nothing else imports it except the public API in `keras_embedplus`.
"""
