"""Training scripts, one per method, on a shared loop: `python -m training <method> [options]`."""
