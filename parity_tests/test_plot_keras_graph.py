"""plot_model draws a Keras Functional model as its graph too: the arrows come from Keras's
own nodes (a residual connection is an arrow from the input to the Add)."""

import keras

from scratchnn.plots.architecture import keras_graph_edges, plot_model


def test_a_keras_graph_is_drawn_with_its_skip_connection(tmp_path):
    i = keras.Input((8,), name="x")
    d2 = keras.layers.Dense(8, name="d2")(keras.layers.Dense(8, name="d1")(i))
    model = keras.Model(i, keras.layers.Dense(3, name="cls")(keras.layers.Add(name="res")([i, d2])))
    assert [layer.name for layer in model.layers] == ["x", "d1", "d2", "res", "cls"]
    assert keras_graph_edges(model, model.layers) == [(0, 1), (1, 2), (0, 3), (2, 3), (3, 4)]
    plot_model(model, to_file=tmp_path / "g.png", show_shapes=True)
    assert (tmp_path / "g.png").stat().st_size > 0
