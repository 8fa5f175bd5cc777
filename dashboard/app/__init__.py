"""The Streamlit layer: cached accessors, the sidebar, URL state, shared widgets and the training slot."""
