"""Screens of the statelab app."""
