import numpy as np
import pytest

from keras_embedplus.tools import demo
from tests.pictures import load_picture


def test_demo_walks_through_the_question_and_the_answer(tmp_path, capsys):
    result = demo.run_demo(tmp_path, epochs=5)
    out = capsys.readouterr().out

    # The question's code runs as in Keras 2 and each output is a row.
    assert "model.output_shape = (None, 5, 2)" in out
    assert "model.count_params() = 10" in out
    assert "output_array[0] == weights[input_array[0]] -> True" in out

    # The answer's example: ids, table, lookup, one-hot product.
    assert result.words == ["hope", "to", "see", "you", "soon", "nice", "again"]
    assert result.phrase_ids == [[0, 1, 2, 3, 4], [5, 1, 2, 3, 6]]
    assert "'Nice to see you again'    -> [5, 1, 2, 3, 6]" in out
    assert "Equal to table[[5, 1, 2, 3, 6]]: True" in out
    assert "numpy 0.0e+00, OneHotDense with the same weights 0.0e+00" in out
    assert demo.format_table(result.table_before, result.words) in out

    # Training on phrase 1 moves rows 0-4 and leaves 5 and 6 alone.
    assert result.table_before.shape == (7, 2)
    assert result.moved_rows == [0, 1, 2, 3, 4]
    assert result.unchanged_rows == [5, 6]
    np.testing.assert_array_equal(
        result.table_after[5:], result.table_before[5:]
    )
    assert (result.table_after[:5] != result.table_before[:5]).all(axis=1).all()
    assert "rows bit-for-bit the same: [5, 6]" in out

    assert sorted(result.pictures) == [
        "one_hot_product",
        "table_after",
        "table_before",
        "training_trajectories",
    ]
    for name, path in result.pictures.items():
        assert path == tmp_path / f"{name}.png"
        load_picture(path)


@pytest.mark.slow
def test_demo_is_seeded(tmp_path):
    first = demo.run_demo(tmp_path / "a", seed=3, epochs=1)
    second = demo.run_demo(tmp_path / "b", seed=3, epochs=1)
    other = demo.run_demo(tmp_path / "c", seed=4, epochs=1)
    np.testing.assert_array_equal(first.table_before, second.table_before)
    np.testing.assert_array_equal(first.table_after, second.table_after)
    assert not np.array_equal(first.table_before, other.table_before)


def test_format_table_prints_the_answer_layout():
    text = demo.format_table(
        np.array([[1.2, 3.1], [0.1, -4.2]]), ["hope", "to"], ids=[5, 1]
    )
    assert text.splitlines() == [
        "+-------+------+--------------------+",
        "| index | word | embedding          |",
        "+-------+------+--------------------+",
        "| 5     | hope | [+1.2000, +3.1000] |",
        "| 1     | to   | [+0.1000, -4.2000] |",
        "+-------+------+--------------------+",
    ]
