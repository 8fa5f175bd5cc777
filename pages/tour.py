"""Tour: a ten-minute path through the pages, one takeaway and one live result per stop, with back and next."""

import streamlit as st

from dashboard.app import navigation, ui
from dashboard.lesson import quiz, tour
from dashboard.viz import plots

ui.require_entry_point()

STOP_KEY = "tour_stop"
TILE_PIXELS = 72  # on-screen side of one image in a highlight, whatever the dataset's image size


@st.cache_data(show_spinner=False, max_entries=32)
def highlight(page: str, dataset_name: str) -> tour.Highlight | None:
    return tour.highlight(page, dataset_name)


def go(step: int, n_stops: int) -> None:
    st.session_state[STOP_KEY] = tour.clamp(st.session_state[STOP_KEY] - 1 + step, n_stops) + 1


def show_highlight(result: tour.Highlight, image_side: int) -> None:
    st.markdown(f"**{result.title}**")
    numbers = st.container(horizontal=True)  # side by side, or wrapped onto more rows where they would be cut
    for number in result.numbers:
        numbers.metric(number.label, number.value, help=number.help or None, width="content")
    for label, images in result.rows:
        tiles = [image[0] for image in images]  # (H, W) each
        lines = [tiles[i:i + result.columns] for i in range(0, len(tiles), result.columns)]
        tile = TILE_PIXELS if len(lines) <= 2 else TILE_PIXELS // 2  # a tall block of images gets smaller tiles
        st.image(plots.grid_png(lines, scale=max(1, tile // image_side)), caption=label)
    st.caption(result.caption)


def show_quiz_progress() -> None:
    attempt = st.session_state.get("quiz_attempt")
    if attempt is None or not attempt.score.answered:
        st.metric("Your quiz score", "not started", help="The quiz keeps score for this browser session.")
        return
    score: quiz.Score = attempt.score
    st.metric("Your quiz score", f"{score.correct} of {score.answered} right",
              help=f"{score.total - score.answered} questions still unanswered.")


try:
    stops = tour.checked()  # every stop's page is in the page registry the menu reads
except tour.TourError as exc:
    st.error(f"The tour cannot be shown: {exc}", icon="🚫")
    st.stop()
n_stops = len(stops)
COUNTS = {5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine", 10: "Ten"}  # stops get added: count them

st.title("🎬 Tour: Latent Lab in ten minutes")
st.markdown(f"{COUNTS.get(n_stops, n_stops)} stops, one idea each. Every stop gives the takeaway in one sentence and "
            "shows the result that proves it, computed from the shipped models. Use **Next** and **Back**, or "
            "open a stop's page to explore it.")
dataset_name = ui.current_dataset()
ds = ui.dataset(dataset_name)
ui.lesson("tour", label="🎤 Presenting the tour")

numbers = list(range(1, n_stops + 1))
stop_key = ui.url_key(STOP_KEY, tour.STEP_PARAM, 1, options=numbers, cast=int)

# Buttons as wide as their words, the slider taking the rest: beside an open sidebar fixed columns cut "← Back".
stepper = st.container(horizontal=True, vertical_alignment="bottom")
stepper.button("← Back", key="tour_back", on_click=go, args=(-1, n_stops), width="content",
               disabled=st.session_state[stop_key] == 1)
stepper.select_slider("Stop", numbers, key=stop_key, label_visibility="collapsed", width="stretch",
                      format_func=lambda n: f"{n} · {stops[n - 1].title}")
stepper.button("Next →", key="tour_next", on_click=go, args=(1, n_stops), width="content", type="primary",
               disabled=st.session_state[stop_key] == n_stops)

index = st.session_state[stop_key] - 1
stop = stops[index]
page = navigation.by_key(stop.page)
minutes_left = sum(s.minutes for s in stops[index:])

with st.container(border=True):
    st.subheader(f"{page.icon} Stop {index + 1} of {n_stops}: {stop.title}")
    st.markdown(f"#### {stop.takeaway}")
    result_col, guide_col = st.columns([5, 2], gap="large")
    with guide_col:
        st.markdown(f"**On the {page.title} page, look at:** {stop.look_at}")
        st.page_link(page.path, label="Open this page", icon="➡️", query_params=dict(stop.params) or None)
        st.caption(f"About {stop.minutes:g} min here; {minutes_left:g} min to the end of the tour.")
    with result_col:
        if stop.page == "quiz":
            show_quiz_progress()
        else:
            try:
                with st.spinner(f"Computing the {stop.title.lower()} result on {dataset_name} (the first time takes "
                                "a few seconds)…"):
                    result = highlight(stop.page, dataset_name)
            except Exception as exc:  # a demo keeps going: say what failed and point at the page itself
                st.warning(f"This stop's live result could not be computed here ({type(exc).__name__}: {exc}). "
                           f"The {page.title} page shows it in full.", icon="⚠️")
            else:
                if result is not None:
                    show_highlight(result, ds.image_shape[-1])
