"""AppTest of the Discrete codes page through the entry point: the codebook, editing a grid, prior samples, bits."""

from __future__ import annotations

from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts


def decoded_name(app) -> str:
    """The served file name of the decoded-grid image (Streamlit names media by a hash of their bytes)."""
    image = next(i for i in app.get("image") if "Decoded from the grid" in i.captions)
    return image.proto.imgs[0].url


def test_editing_a_cell_changes_the_decode_and_reset_brings_it_back():
    app = open_page("discrete-codes", dataset="digits")
    assert_no_exception(app)
    shown = texts(app)
    assert "1 · The codebook" in shown and "Edited cells are highlighted (0 now)" in shown
    used = float(next(m.value for m in app.metric if m.label == "Entries used").rstrip("%"))
    assert used >= 90
    before = decoded_name(app)

    app.selectbox(key="vq_row").set_value(1).run()
    app.selectbox(key="vq_col").set_value(2).run()
    current = app.table[0].value.iloc[1, 2]
    app.selectbox(key="vq_entry").set_value(int((current + 7) % 32)).run()
    app.button(key="vq_set").click().run()
    assert_no_exception(app)
    assert app.table[0].value.iloc[1, 2] == (current + 7) % 32
    assert "Edited cells are highlighted (1 now)" in texts(app)
    assert decoded_name(app) != before

    app.button(key="vq_reset").click().run()
    assert_no_exception(app)
    assert "Edited cells are highlighted (0 now)" in texts(app) and decoded_name(app) == before

    app.number_input(key="vq_image").set_value(7).run()
    assert_no_exception(app)
    assert "Test image #7" in texts(app)


def test_new_prior_samples_scores_and_bits():
    app = open_page("discrete-codes", dataset="digits")
    app.button(key="vq_reseed").click().run()
    assert_no_exception(app)
    assert app.query_params["seed"] in (["1"], "1") and "(seed 1)" in texts(app)
    assert len(app.dataframe) == 1  # the scores wait for their button
    app.button(key="vq_score").click().run()
    assert_no_exception(app)
    scores = app.dataframe[0].value.set_index("sampler")["FID-like ↓"]
    assert scores["VQ-VAE + PixelCNN prior"] < scores["VAE + N(0, I) prior"]
    bits = app.dataframe[1].value.set_index("code")["bits per image"]
    assert bits["VQ-VAE (vq-32)"] == 80 and bits["AE (ae-16, float16)"] == 256
    assert [b.label for b in app.get("download_button")] == ["⬇️ Bits and errors (CSV)"]
