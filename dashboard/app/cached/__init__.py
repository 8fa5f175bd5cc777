"""Cached accessors for each page: st.cache_data and st.cache_resource wrappers keyed by small values."""
