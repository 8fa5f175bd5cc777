"""AppTest of the Denoising page through the entry point: noise types, the level slider, links, own image."""

from __future__ import annotations

from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def psnr_table(app) -> dict[str, float]:
    frame = app.dataframe[0].value
    return dict(zip(frame["method"], frame["PSNR (dB)"]))


def test_every_noise_type_and_the_level_slider_change_the_scores():
    app = open_page("denoising")
    assert_no_exception(app)
    table = psnr_table(app)
    assert set(table) == {"Noisy input", "DAE (dae-64)", "AE (ae-32, no noise in training)", "Median filter 3x3",
                          "Gaussian blur (sigma 0.8 px)", "PCA projection (64 components)"}
    assert table["DAE (dae-64)"] > table["Median filter 3x3"] + 3 > table["Noisy input"]  # sigma 0.5 by default
    app.selectbox(key="denoising_dae").set_value("dae-16").run()
    assert "DAE (dae-16)" in psnr_table(app) and "AE (ae-16, no noise in training)" in psnr_table(app)
    assert app.query_params["noise"] in ("gaussian", ["gaussian"])

    app.slider(key="denoising_level_gaussian").set_value(0.2).run()
    assert_no_exception(app)
    milder = psnr_table(app)
    assert milder["Noisy input"] > table["Noisy input"] + 3  # less noise, higher PSNR of the input itself

    for noise, key in (("salt-pepper", "denoising_level_salt-pepper"), ("mask", "denoising_level_mask")):
        app.button_group(key="denoising_noise").set_value(noise).run()
        assert_no_exception(app)
        assert app.slider(key=key).value > 0
        assert "DAE PSNR" in texts(app) and len(psnr_table(app)) == 6


def test_shared_link_restores_noise_and_level_and_junk_falls_back():
    app = open_page("denoising", query={"noise": "salt-pepper", "level": "0.1"})
    assert_no_exception(app)
    assert app.button_group(key="denoising_noise").value == "salt-pepper"
    assert app.slider(key="denoising_level_salt-pepper").value == 0.1
    junk = open_page("denoising", query={"noise": "lasers", "level": "9"})
    assert_no_exception(junk)
    assert any("not valid" in w.value for w in junk.warning)
    assert junk.button_group(key="denoising_noise").value == "gaussian"


def test_own_image_is_corrupted_and_cleaned_and_bad_files_are_refused():
    app = open_page("denoising", dataset="digits")
    assert_no_exception(app)
    app.button_group(key="denoising_own_source").set_value("Upload").run()
    app.file_uploader(key="denoising_own_upload").upload("blank.png", b"", "image/png").run()
    assert any("empty" in e.value for e in app.error)
    app.file_uploader(key="denoising_own_upload").upload("seven.png", digit_png(), "image/png").run()
    assert_no_exception(app)
    assert "PSNR against your clean image" in texts(app)


def query_value(app, param: str) -> str:
    value = app.query_params[param]
    return value[0] if isinstance(value, list) else value


def test_a_level_belongs_to_its_noise_type_and_never_leaks_into_another():
    # Gaussian at 0.02 is kept in the link; Salt & pepper and Block must still open at their own defaults.
    app = open_page("denoising")
    app.slider(key="denoising_level_gaussian").set_value(0.02).run()
    assert query_value(app, "level") == "0.02"
    for noise, default in (("salt-pepper", 0.1), ("mask", 0.4)):
        app.button_group(key="denoising_noise").set_value(noise).run()
        assert_no_exception(app)
        assert app.slider(key=f"denoising_level_{noise}").value == default
        assert query_value(app, "noise") == noise and query_value(app, "level") == str(default)
        assert metric(app, "Best method here") == "DAE"  # a real corruption, which the DAE cleans best
    app.button_group(key="denoising_noise").set_value("gaussian").run()
    assert app.slider(key="denoising_level_gaussian").value == 0.02  # its own last value, kept for the session
    assert query_value(app, "level") == "0.02"

    # A level in a link belongs to the noise type in the same link.
    linked = open_page("denoising", query={"noise": "mask", "level": "0.3"})
    assert linked.slider(key="denoising_level_mask").value == 0.3
    linked.button_group(key="denoising_noise").set_value("gaussian").run()
    assert_no_exception(linked)
    assert linked.slider(key="denoising_level_gaussian").value == 0.5
    assert query_value(linked, "level") == "0.5"


def test_a_level_stays_with_its_noise_type_for_the_session():
    """Set Gaussian to 0.6, look at another type and change its level, come back: Gaussian reads 0.6 again."""
    app = open_page("denoising")
    app.slider(key="denoising_level_gaussian").set_value(0.6).run()
    app.button_group(key="denoising_noise").set_value("mask").run()
    app.slider(key="denoising_level_mask").set_value(0.3).run()
    app.button_group(key="denoising_noise").set_value("gaussian").run()
    assert_no_exception(app)
    assert app.slider(key="denoising_level_gaussian").value == 0.6
    app.button_group(key="denoising_noise").set_value("mask").run()
    assert app.slider(key="denoising_level_mask").value == 0.3


def test_a_caption_right_above_the_grid_says_what_the_plain_ae_column_is():
    app = open_page("denoising")
    assert_no_exception(app)
    # Every element in page order, as "Kind:value", to check where the caption sits.
    order = [type(node).__name__ + ":" + str(getattr(node, "value", "")) for node in _walk(app.main)]
    heading = next(i for i, text in enumerate(order) if text == "Subheader:Side by side")
    caption = next(i for i, text in enumerate(order) if text.startswith("Caption:") and "plain autoencoder" in text)
    grid = next(i for i, text in enumerate(order) if text.startswith("Image:"))
    assert heading < caption < grid
    said = order[caption]
    # Which of the two the caption says depends on how the shipped ae-32 copes with the noise; it must say one.
    assert "ae-32" in said and "never saw noise" in said
    assert "worse than the noisy input" in said or "better than its input" in said
    assert "**DAE** (dae-64) learned from noisy inputs" in said and "holds 64 numbers, the AE's 32" in said
    links = [element.proto for element in app.get("page_link")]
    assert any(link.page == "pages/latent-diffusion.py" or "latent-diffusion" in link.page for link in links), links
    assert "diffusion trains such a denoiser at every noise level" in texts(app)


def _walk(node):
    """The elements under a block, depth first, in the order the page shows them."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)
