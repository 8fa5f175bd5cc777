"""AppTest of the Sampling page through the entry point: samplers, temperature, scores, latent maps, interpolation."""

from __future__ import annotations

from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png

SAMPLERS = ["AE + N(0, I)", "AE + fitted Gaussian", "AE + Gaussian mixture", "VAE + N(0, I) prior",
            "VAE + Gaussian mixture", "AE + latent diffusion"]


def fid_metrics(app) -> dict[str, float]:
    """The FID-like metrics under the grids, in sampler order."""
    found = [float(m.value) for m in app.metric if m.label.startswith("FID-like at t")]
    return dict(zip(SAMPLERS, found))


def test_sampler_grids_temperature_and_scores():
    app = open_page("sampling")
    assert_no_exception(app)
    shown = texts(app)
    for label in SAMPLERS:  # each name on two lines, so that the five grids line up
        family, sampler = label.split(" + ")
        assert f"**{family} +**  \n**{sampler}**" in shown
    assert len([image for image in app.get("image")]) >= 5 + 2  # five sample grids, two decoded latent grids
    scores = fid_metrics(app)
    assert len(scores) == len(SAMPLERS)
    # The page's lesson, live: a fitted mixture or the VAE prior beats N(0, I) on a plain AE by a wide margin.
    assert min(scores["AE + Gaussian mixture"], scores["VAE + N(0, I) prior"]) < scores["AE + N(0, I)"] / 3
    assert "the baseline" in [m.delta for m in app.metric if m.label.startswith("FID-like")]

    app.select_slider(key="sampling_temperature").set_value(0.5).run()
    assert_no_exception(app)
    assert fid_metrics(app) == scores  # scoring waits for the button, so the numbers still say t = 1.0
    assert app.button(key="sampling_score").label == "Score at t = 0.5"
    app.button(key="sampling_score").click().run()
    assert_no_exception(app)
    cooler = fid_metrics(app)
    assert all(m.label == "FID-like at t = 0.5" for m in app.metric if m.label.startswith("FID-like at"))
    assert cooler["AE + N(0, I)"] != scores["AE + N(0, I)"]
    assert "temperature **0.5**" in texts(app)

    app.select_slider(key="sampling_components").set_value(1).run()
    assert_no_exception(app)
    assert "a mix of 1 Gaussian fitted to the AE's codes" in texts(app)
    assert "a mix of 1 Gaussian fitted to the VAE's own codes" in texts(app)
    one_component = fid_metrics(app)
    # One mixture component is one fitted Gaussian again: both score alike, far from the blind N(0, I).
    assert abs(one_component["AE + Gaussian mixture"] - one_component["AE + fitted Gaussian"]) < \
        0.25 * one_component["AE + fitted Gaussian"]

    seed = app.number_input(key="sampling_seed").value
    app.button(key="sampling_reseed").click().run()
    assert_no_exception(app)
    assert app.number_input(key="sampling_seed").value == seed + 1
    assert app.query_params["seed"] in (["1"], "1") and app.query_params["t"] in (["0.5"], "0.5")

    app.button_group(key="sampling_dims").set_value(3).run()
    assert_no_exception(app)
    assert "AE (ae-3), z drawn from N(0, I)" in texts(app)
    holes = {m.label: m.value for m in app.metric if m.label in ("Samples in holes", "Data covered")}
    assert holes  # shown for the 3D models too
    app.button_group(key="sampling_map_kind").set_value("gmm").run()
    assert_no_exception(app)
    assert "AE (ae-3), z drawn from its fitted mixture" in texts(app)


def test_interpolation_between_picked_and_uploaded_images():
    app = open_page("sampling")
    assert texts(app).count("Classifier reads:") == 3  # AE, VAE and the pixel-blend baseline
    app.number_input(key="sampling_a").set_value(3).run()
    app.number_input(key="sampling_b").set_value(950).run()
    assert_no_exception(app)
    shown = texts(app)
    assert "Test image #3: class" in shown and "Test image #950: class" in shown
    before = [c.value for c in app.caption if c.value.startswith("Classifier reads:")]

    app.button_group(key="sampling_method").set_value("slerp").run()
    app.select_slider(key="sampling_steps").set_value(6).run()
    app.select_slider(key="sampling_path_k").set_value(2).run()
    assert_no_exception(app)
    after = [c.value for c in app.caption if c.value.startswith("Classifier reads:")]
    assert len(after) == 3 and after != before
    assert all(reading.count("→") == 5 for reading in after)  # six steps
    assert "ae-2" in texts(app) and "vae-2" in texts(app)

    app.button_group(key="sampling_a_source").set_value("Your own").run()
    app.button_group(key="sampling_own_a_source").set_value("Upload").run()
    assert_no_exception(app)
    assert "Draw or upload both images (or pick test images) to see the paths." in texts(app)
    app.file_uploader(key="sampling_own_a_upload").upload("notes.png", b"not an image at all", "image/png").run()
    assert_no_exception(app)
    assert any("not an image" in e.value for e in app.error)
    app.file_uploader(key="sampling_own_a_upload").upload("seven.png", digit_png(), "image/png").run()
    assert_no_exception(app)
    assert texts(app).count("Classifier reads:") == 3



def test_digits_and_a_shared_link_with_one_bad_value():
    app = open_page("sampling", query={"dataset": "digits", "k": "8", "t": "hot", "path": "slerp"})
    assert_no_exception(app)
    assert app.select_slider(key="sampling_k").value == 8
    assert app.select_slider(key="sampling_temperature").value == 1.0
    assert any("t=hot" in w.value for w in app.warning)
    assert app.button_group(key="sampling_method").value == "slerp"
    assert "trained on the digits train split" in texts(app)
    assert len(fid_metrics(app)) == len(SAMPLERS) - 1  # latent diffusion ships at k = 2 and 16 only


def grid_names(app) -> list[str]:
    """The file names of the five sample grids as served: Streamlit names a media file by a hash of its bytes."""
    return [image.proto.imgs[0].url.rsplit("/", 1)[-1] for image in app.get("image")][:len(SAMPLERS)]


def sweep_names(dataset: str, k: int, seed: int, temperature: float) -> list[str]:
    """The names the grids had when every temperature of the seed was decoded in one batch and drawn tile by tile."""
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    from dashboard.app.cached import sampling as cached
    from dashboard.sampling import samplers
    from dashboard.viz import plots

    names = []
    for setup in [s for s in samplers.SETUPS if s.available(dataset, k)]:
        sweep = samplers.generate_sweep(dataset, setup, k, cached.GRID_SIDE ** 2, samplers.TEMPERATURES, seed,
                                        cached.DEFAULT_COMPONENTS)
        png = plots.grid_png(samplers.as_rows(sweep[samplers.TEMPERATURES.index(temperature)], cached.GRID_SIDE),
                             scale=cached.scale(dataset))
        names.append(f"{_calculate_file_id(png, 'image/png')}.png")
    return names


def test_new_samples_and_the_temperature_show_the_grids_of_the_whole_sweep():
    # Only the shown temperature is decoded now: the pictures must be those the full sweep gave.
    app = open_page("sampling", dataset="digits")
    app.button(key="sampling_reseed").click().run()
    assert_no_exception(app)
    assert app.number_input(key="sampling_seed").value == 1
    assert grid_names(app) == sweep_names("digits", 16, 1, 1.0)
    app.select_slider(key="sampling_temperature").set_value(0.5).run()
    assert_no_exception(app)
    assert grid_names(app) == sweep_names("digits", 16, 1, 0.5)
    assert [b.label for b in app.get("download_button")].count("⬇️ PNG") == len(SAMPLERS)
