"""Whether TensorFlow is tracing code that XLA will compile.

The layers and the optimizer both change what they build under XLA
(`jit_compile=True`, Keras' default on GPUs): no assertions compile there,
and no tensor whose length depends on the data. TensorFlow tells only
through a private module, so a caller also says what to assume if that
module ever moves: the answer that keeps its own code correct.
"""


def in_xla_context(if_unknown):
    """Whether TensorFlow may be tracing a function compiled with XLA.

    Args:
        if_unknown: Boolean. The answer when TensorFlow no longer has the
            private module that tells.
    """
    import tensorflow as tf

    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # pragma: no cover - TF moved its private module
        return if_unknown
    graph = tf.compat.v1.get_default_graph()
    return control_flow_util.GraphOrParentsInXlaContext(graph)
