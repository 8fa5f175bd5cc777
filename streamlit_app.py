"""Latent Lab's entry point: page config, navigation and the shared sidebar; the pages do the rest."""

import streamlit as st

if __name__ != "__main__":
    # `streamlit run` finds this st.App and imports the file once to serve it; its start-up hook imports torch and
    # loads the Overview's models while the first browser is still loading the page. Each visitor's script run
    # executes the file as __main__ and takes the branch below.
    from dashboard.app import warmup

    app = st.App(__file__, lifespan=warmup.lifespan, middleware=warmup.MIDDLEWARE)
else:
    from dashboard.app import frame, navigation, ui

    st.set_page_config(page_title="Latent Lab", page_icon="🧬", layout="wide", initial_sidebar_state="auto")
    frame.configure_process()

    sections: dict[str, list] = {}
    for spec in navigation.PAGES:
        sections.setdefault(spec.section, []).append(
            st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path,
                    default=spec.url_path == navigation.DEFAULT_PAGE))
    page = st.navigation(sections, expanded=True)  # every page in view: no "View more" hiding the Today group
    ui.sidebar()
    with frame.entry_point_run():
        page.run()
    ui.sync_url()
