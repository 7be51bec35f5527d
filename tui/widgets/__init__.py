"""The widgets of the statelab app, one module each."""
