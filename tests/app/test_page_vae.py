"""AppTest of the VAE page through the entry point: image choice, β, the cVAE, the attribute sliders, the priors."""

from __future__ import annotations

import re

from dashboard.app.cached import vae as cached
from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts
from tests.harness.inputs import digit_png


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def active_of(app) -> int:
    return int(metric(app, "Active units").split("/")[0])


def test_every_control_of_the_vae_page():
    app = open_page("vae", dataset="digits")
    assert_no_exception(app)
    shown = texts(app)
    assert "z = μ + σ·ε" in shown and "0.01 nats" in shown
    assert len(app.get("graphviz_chart")) == 1
    recon, kl, total = (float(metric(app, label).split()[0]) for label in ("Reconstruction term", "KL term", "ELBO"))
    assert total == recon * -1 - kl or abs(total + recon + kl) < 0.15  # the shown ELBO adds up (to rounding)

    # β: the ladder's ends; posterior collapse shows as fewer active units.
    app.select_slider(key="vae_beta").set_value(0.25).run()
    assert_no_exception(app)
    low = active_of(app)
    assert "vae-16-beta0.25" in texts(app) and "vae-2-beta0.25" in texts(app)
    app.select_slider(key="vae_beta").set_value(16.0).run()
    assert_no_exception(app)
    assert active_of(app) < low

    # Another test image, then the user's own: a digit PNG is used, a non-image is refused with a message.
    app.number_input(key="vae_index").set_value(5).run()
    assert_no_exception(app)
    app.button(key="vae_index_shuffle").click().run()
    assert_no_exception(app)
    app.button_group(key="vae_source").set_value("Your own").run()
    app.button_group(key="vae_own_source").set_value("Upload").run()
    app.file_uploader(key="vae_own_upload").upload("seven.png", digit_png(), "image/png").run()
    assert_no_exception(app)
    assert "Until then" not in texts(app)
    app.file_uploader(key="vae_own_upload").upload("notes.png", b"not an image at all", "image/png").run()
    assert_no_exception(app)
    assert any("not an image that can be read" in e.value for e in app.error)

    # The conditional VAE: another digit, new samples.
    app.selectbox(key="vae_digit").set_value(3).run()
    assert_no_exception(app)
    share = metric(app, "Read as 3")
    assert float(share.rstrip("%")) >= 90
    app.button(key="vae_cvae_new").click().run()
    assert_no_exception(app)

    # Latent arithmetic: both directions, pushed to the ends.
    assert app.radio(key="vae_attribute").options == ["slant"]  # 8x8 strokes are too coarse for a thickness
    app.button_group(key="vae_source").set_value("Test set").run()
    app.number_input(key="vae_index").set_value(0).run()
    before = float(metric(app, "Measured slant"))
    app.select_slider(key="vae_push_slant").set_value(cached.REACH["slant"]).run()
    assert_no_exception(app)
    assert float(metric(app, "Measured slant")) > before  # pushing up raises the measured slant
    assert re.fullmatch(r"\d", metric(app, "Classifier says"))

    # The priors, scored on demand.
    app.toggle(key="vae_score_priors").set_value(True).run()
    assert_no_exception(app)
    table = app.dataframe[-1].value
    assert list(table["sampler"])[:2] == ["AE + fitted Gaussian", "vae-16 + N(0, I) prior"]
    assert len(table) == 8 and list(table["sampler"])[-1] == "vae-16 reconstructions (no sampling)"


def test_thickness_on_mnist():
    app = open_page("vae")
    assert app.radio(key="vae_attribute").options == ["slant", "thickness"]
    app.radio(key="vae_attribute").set_value("thickness").run()
    before = float(metric(app, "Measured thickness"))
    app.select_slider(key="vae_push_thickness").set_value(cached.REACH["thickness"]).run()
    assert_no_exception(app)
    assert float(metric(app, "Measured thickness")) > before


def test_a_shared_link_opens_at_its_beta_and_digit():
    app = open_page("vae", dataset="digits", query={"beta": "4", "digit": "2"})
    assert_no_exception(app)
    assert app.select_slider(key="vae_beta").value == 4.0
    assert app.selectbox(key="vae_digit").value == 2
    bad = open_page("vae", query={"beta": "3"})
    assert_no_exception(bad)
    assert any("not valid here" in w.value for w in bad.warning)
