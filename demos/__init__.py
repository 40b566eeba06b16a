"""UI only: one module per tab, each exposing build_tab(); handlers are thin adapters over models/."""
