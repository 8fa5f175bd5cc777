"""AppTest of the Latent diffusion page through the entry point: steps, guidance, class, new noise, a shared link."""

from __future__ import annotations

from tests.harness.apptest import open_page
from tests.harness.checks import assert_no_exception, texts


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def frames(app) -> int:
    """Frames of the reverse-process figure as sent to the browser."""
    import json

    chart = app.get("plotly_chart")[0]
    return len(json.loads(chart.proto.spec)["frames"])


def test_every_control_reruns_the_walk_and_its_scores():
    app = open_page("latent-diffusion", dataset="digits")
    assert_no_exception(app)
    shown = texts(app)
    assert "1 · Noise flowing into the digit clusters" in shown and "3 · One denoiser for every noise level" in shown
    assert frames(app) == 21  # the default 20 steps, noise included
    assert not [m for m in app.metric if m.label == "FID-like ↓"]  # scoring waits for its button
    app.button(key="diffusion_score").click().run()
    assert_no_exception(app)
    fid = float(metric(app, "FID-like ↓"))
    assert 0 < fid < float(metric(app, "Real digits")) + 60
    assert metric(app, "Net passes") == "20 × 2"

    app.select_slider(key="diffusion_steps").set_value(5).run()
    assert_no_exception(app)
    assert frames(app) == 6 and metric(app, "Net passes") == "5 × 2"
    assert app.query_params["steps"] in (["5"], "5")

    app.select_slider(key="diffusion_guidance").set_value(0.0).run()
    assert_no_exception(app)
    assert metric(app, "Net passes") == "5 × 1"

    app.select_slider(key="diffusion_guidance").set_value(3.0).run()
    app.selectbox(key="diffusion_class").set_value(3).run()
    assert_no_exception(app)
    # Every sample asked for a 3, pushed hard: the classifier reads almost all of them as one class.
    assert float(metric(app, "Largest class gap").rstrip("%")) > 60

    app.button(key="diffusion_reseed").click().run()
    assert_no_exception(app)
    assert app.query_params["seed"] in (["1"], "1")
    assert "seed 1" in texts(app)


def test_a_shared_link_with_one_bad_value_and_the_links_to_other_pages():
    app = open_page("latent-diffusion", query={"dataset": "digits", "steps": "7", "guide": "2.0", "class": "4"})
    assert_no_exception(app)
    assert any("steps=7" in w.value for w in app.warning)
    assert app.select_slider(key="diffusion_steps").value == 20
    assert app.select_slider(key="diffusion_guidance").value == 2.0
    assert app.selectbox(key="diffusion_class").value == 4
    links = [link.proto.page for link in app.get("page_link")]
    assert any("denoising" in page for page in links) and any("sampling" in page for page in links)
